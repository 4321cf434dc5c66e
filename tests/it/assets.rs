//! Embedded files: content types, ETag revalidation, gzip.

use std::io::Read;

use reqwest::StatusCode;

use crate::harness::TestApp;

#[tokio::test]
async fn etag_revalidation_and_gzip() {
    let app = TestApp::spawn().await;
    let first = app.client.get(app.staff("/dashboard/app.css")).send().await.expect("css");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].clone();
    let plain = first.bytes().await.expect("body");

    let again = app
        .client
        .get(app.staff("/dashboard/app.css"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("css");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.expect("body").is_empty());

    let gz =
        app.client.get(app.staff("/dashboard/app.css")).header("accept-encoding", "gzip").send().await.expect("css");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["etag"], etag, "one ETag per file, whatever the encoding");
    let packed = gz.bytes().await.expect("body");
    assert!(packed.len() < plain.len(), "gzip is smaller");
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut unpacked).expect("valid gzip");
    assert_eq!(unpacked, plain);

    let missing = app.client.get(app.staff("/dashboard/nope.js")).send().await.expect("missing");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn assets_load_nothing_from_other_hosts() {
    let assets = parley::http::assets::Assets::load();
    let mut checked = 0;
    for path in assets.paths() {
        let text = String::from_utf8_lossy(assets.get(path).expect("asset").text()).to_string();
        for needle in ["http://", "https://", "//fonts.", "cdn"] {
            let hits: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
            // The only absolute URLs allowed are the appliance's own, built at run time, and the
            // reserved example domain used in help text.
            let allowed = |l: &&str| l.contains("${") || l.contains("APPLIANCE") || l.contains("://example.gov.uk");
            assert!(hits.iter().all(allowed), "{path} refers to another host: {hits:?}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "all assets were checked ({checked})");
}
