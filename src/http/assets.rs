//! Embedded front-end files (`assets/`), prepared once at start: content type, strong ETag,
//! and a gzip copy where it is smaller. Served with revalidation (`no-cache` + ETag → 304).

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};
use warp::Reply;

static ASSETS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/assets");

pub struct Asset {
    body: Bytes,
    gzip: Option<Bytes>,
    etag: HeaderValue,
    content_type: HeaderValue,
}

/// Every embedded file by its path under `assets/` (e.g. `dashboard/index.html`).
pub struct Assets {
    files: HashMap<String, Asset>,
}

impl Assets {
    pub fn load() -> Assets {
        let mut files = HashMap::new();
        collect(&ASSETS, &mut files);
        Assets { files }
    }

    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The response for `path`, honouring `If-None-Match` and `Accept-Encoding`.
    pub fn respond(&self, path: &str, request: &HeaderMap) -> Option<warp::reply::Response> {
        self.get(path).map(|asset| asset.respond(request))
    }
}

impl Asset {
    pub fn text(&self) -> &[u8] {
        &self.body
    }

    pub fn respond(&self, request: &HeaderMap) -> warp::reply::Response {
        let mut response = if request.get(header::IF_NONE_MATCH).is_some_and(|tag| etag_matches(tag, &self.etag)) {
            let mut r = warp::reply::Response::new(Default::default());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let wants_gzip = request
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
            match (&self.gzip, wants_gzip) {
                (Some(gz), true) => {
                    let mut r = warp::reply::Response::new(gz.clone().into());
                    r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                _ => warp::reply::Response::new(self.body.clone().into()),
            }
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        response
    }
}

fn etag_matches(header: &HeaderValue, etag: &HeaderValue) -> bool {
    header
        .to_str()
        .is_ok_and(|v| v.trim() == "*" || v.split(',').any(|t| t.trim() == etag.to_str().unwrap_or_default()))
}

fn collect(dir: &'static Dir<'static>, files: &mut HashMap<String, Asset>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        files.insert(path.clone(), prepare(&path, file.contents()));
    }
    for sub in dir.dirs() {
        collect(sub, files);
    }
}

fn prepare(path: &str, contents: &'static [u8]) -> Asset {
    let digest = Sha256::digest(contents);
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let content_type = match mime.type_() {
        mime_guess::mime::TEXT | mime_guess::mime::APPLICATION if is_text(path) => format!("{mime}; charset=utf-8"),
        _ => mime.to_string(),
    };
    Asset {
        body: Bytes::from_static(contents),
        gzip: gzip_if_smaller(contents),
        etag,
        content_type: HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    }
}

fn is_text(path: &str) -> bool {
    [".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".md"].iter().any(|ext| path.ends_with(ext))
}

fn gzip_if_smaller(contents: &[u8]) -> Option<Bytes> {
    if contents.len() < 512 {
        return None;
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(contents).ok()?;
    let packed = encoder.finish().ok()?;
    (packed.len() + 64 < contents.len()).then(|| Bytes::from(packed))
}

/// A reply for a generated text page (not an embedded file).
pub fn html(body: String) -> warp::reply::Response {
    let mut response = warp::reply::html(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_have_types_and_etags() {
        let assets = Assets::load();
        let index = assets.get("dashboard/index.html").expect("dashboard page embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.etag.to_str().unwrap_or_default().starts_with('"'));
        let mut request = HeaderMap::new();
        request.insert(header::IF_NONE_MATCH, index.etag.clone());
        assert_eq!(index.respond(&request).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(index.respond(&HeaderMap::new()).status(), StatusCode::OK);
    }
}
