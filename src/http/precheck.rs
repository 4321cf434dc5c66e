//! Checks made on every request before routing, where warp's own answer would be wrong:
//! a body over `server.max_body_bytes` (refused with 413 only after the body is read and thrown
//! away, up to a bound, so the client sees the answer instead of a reset), a repeated query
//! parameter (400, where warp would say 405), and a non-numeric id in an API path (400, where
//! warp would say 404 or 405; which segments are numbers comes from the OpenAPI document).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, EXPECT};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Incoming};

use super::rejection::ApiError;

/// Bodies up to this size are read to their end before the 413 answer; past it (or after
/// `DRAIN_TIME`) the connection is closed after the answer.
const DRAIN_BYTES: u64 = 32 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The request body routes get: the connection's own, or one read here to check its size.
pub type RequestBody = Either<Incoming, Full<Bytes>>;

/// A refusal, and whether the connection must close after it (the body was not read to its end).
pub struct Refusal {
    pub error: ApiError,
    pub close: bool,
}

/// The API path templates with a numeric segment, e.g. `/api/v1/offline-requests/{id}/done`.
#[derive(Debug, Default)]
pub struct NumericPaths(Vec<Vec<Segment>>);

#[derive(Debug, PartialEq)]
enum Segment {
    Literal(String),
    Number,
    Other,
}

impl NumericPaths {
    /// Reads the templates from an OpenAPI document (path parameters of type integer).
    pub fn from_openapi(document: &str) -> NumericPaths {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
            return NumericPaths::default();
        };
        let Some(paths) = doc["paths"].as_object() else { return NumericPaths::default() };
        let mut templates = Vec::new();
        for (path, item) in paths {
            let numeric: HashSet<&str> = item
                .as_object()
                .into_iter()
                .flat_map(|ops| ops.values())
                .filter_map(|op| op["parameters"].as_array())
                .flatten()
                .filter(|p| p["in"] == "path" && p["schema"]["type"] == "integer")
                .filter_map(|p| p["name"].as_str())
                .collect();
            if numeric.is_empty() {
                continue;
            }
            let segments = path
                .split('/')
                .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if numeric.contains(name) => Segment::Number,
                    Some(_) => Segment::Other,
                    None => Segment::Literal(part.to_owned()),
                })
                .collect();
            templates.push(segments);
        }
        NumericPaths(templates)
    }

    /// The first segment of `path` that a template wants as a number but is not one.
    fn non_numeric<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.0.is_empty() {
            return None;
        }
        let parts: Vec<&str> = path.split('/').collect();
        self.0.iter().filter(|t| t.len() == parts.len()).find_map(|template| {
            let literals_match = template.iter().zip(&parts).all(|(s, p)| match s {
                Segment::Literal(l) => l == p,
                _ => true,
            });
            let bad = template
                .iter()
                .zip(&parts)
                .find(|(s, p)| **s == Segment::Number && p.parse::<i64>().is_err())
                .map(|(_, p)| *p);
            if literals_match { bad } else { None }
        })
    }
}

/// A query parameter named twice (`?status=open&status=closed`), by its decoded name.
fn repeated_parameter(query: &str) -> Option<String> {
    let mut seen = HashSet::new();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| decode(pair.split('=').next().unwrap_or_default()))
        .find(|name| !seen.insert(name.clone()))
}

/// `application/x-www-form-urlencoded` decoding of one name (`+` and `%XX`).
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high << 4) | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Runs the checks; passes the request on with its body (read here when it had no length).
pub async fn check(
    request: Request<Incoming>,
    max_body: u64,
    numeric: &NumericPaths,
) -> Result<Request<RequestBody>, Refusal> {
    let bad_request = |code, message: String| Refusal { error: ApiError::bad_request(code, message), close: false };
    if let Some(name) = request.uri().query().and_then(repeated_parameter) {
        return Err(bad_request(
            "repeated_query_parameter",
            format!("the query parameter `{name}` is given more than once; give it once"),
        ));
    }
    if let Some(segment) = numeric.non_numeric(request.uri().path()) {
        return Err(bad_request(
            "bad_path_parameter",
            format!("`{segment}` in the path is not a number; this route takes a numeric id there"),
        ));
    }
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let expects_continue =
        request.headers().get(EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    match declared {
        Some(length) if length > max_body => {
            // A client waiting for `100 Continue` has not sent the body: answer at once.
            let close = expects_continue || length > DRAIN_BYTES || !drain(request.into_body(), DRAIN_BYTES).await;
            Err(Refusal { error: ApiError::payload_too_large(), close })
        }
        Some(_) => Ok(request.map(Either::Left)),
        None if request.body().is_end_stream() => Ok(request.map(Either::Left)),
        None => {
            // No declared length (HTTP/1.1 chunked, HTTP/2 without content-length): read up to
            // the limit here, so routes see a body with a length.
            let (mut parts, mut body) = request.into_parts();
            let mut read = Vec::new();
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    return Err(bad_request("bad_body", "the request body ended unexpectedly".to_owned()));
                };
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                    if read.len() as u64 > max_body {
                        let close = !drain(body, DRAIN_BYTES.saturating_sub(read.len() as u64)).await;
                        return Err(Refusal { error: ApiError::payload_too_large(), close });
                    }
                }
            }
            parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(read.len()));
            Ok(Request::from_parts(parts, Either::Right(Full::new(Bytes::from(read)))))
        }
    }
}

/// Reads and discards the body; true when it ended within `limit` bytes and `DRAIN_TIME`.
async fn drain(mut body: Incoming, limit: u64) -> bool {
    let read_all = async {
        let mut read: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Ok(data) = frame.into_data() {
                read += data.len() as u64;
                if read > limit {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read_all).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_parameters_are_found_by_decoded_name() {
        assert_eq!(repeated_parameter("status=open&limit=5"), None);
        assert_eq!(repeated_parameter("status=open&status=closed").as_deref(), Some("status"));
        assert_eq!(repeated_parameter("st%61tus=1&status=2").as_deref(), Some("status"));
        assert_eq!(repeated_parameter("a&a").as_deref(), Some("a"));
        assert_eq!(repeated_parameter(""), None);
        assert_eq!(decode("a+b%2"), "a b%2");
    }

    #[test]
    fn numeric_path_segments_come_from_the_openapi_document() {
        let paths = NumericPaths::from_openapi(crate::http::api::OPENAPI);
        assert_eq!(paths.non_numeric("/api/v1/offline-requests/abc/done"), Some("abc"));
        assert_eq!(paths.non_numeric("/api/v1/offline-requests/12/done"), None);
        assert_eq!(paths.non_numeric("/api/v1/gdpr/subjects/x1"), Some("x1"));
        assert_eq!(paths.non_numeric("/api/v1/users/abc"), None, "user names are not numbers");
        assert_eq!(paths.non_numeric("/api/v1/account/sessions/abc"), None, "session ids are hex strings");
    }
}
