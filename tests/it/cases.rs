//! Data-subject requests as cases: logged with a deadline one calendar month after receipt,
//! listed with days left, overdue ones flagged, updated and closed; audited without the notes.

use http::{Method, StatusCode};
use serde_json::json;

use crate::gdpr::{Staff, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_logged_listed_with_deadlines_and_closed() {
    let app = spawn(|_| {}).await;
    let dpo = Staff::new(&app, "dora", "dpo").await;
    let admin = Staff::new(&app, "ada", "administrator").await;
    let clerk = Staff::new(&app, "cleo", "operator").await;

    // Received on 31 January 2024 (a leap year): due 29 February, long overdue.
    let old = json!({ "kind": "erasure", "received_on": "2024-01-31", "notes": "By letter" });
    let (status, late) = dpo.call(&app, Method::POST, "/api/v1/gdpr/cases", Some(old)).await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    assert_eq!(late["reference"], "DR-2024-001");
    assert_eq!((late["deadline"].as_str(), late["status"].as_str()), (Some("2024-02-29"), Some("open")));
    assert_eq!(late["overdue"], true);
    assert!(late["days_left"].as_i64().expect("days") < 0);
    // Received today: due in 28 to 31 days, not overdue; the reference counts per year.
    let (status, fresh) = admin.call(&app, Method::POST, "/api/v1/gdpr/cases", Some(json!({ "kind": "access" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    let year = parley::service::cases::today().year();
    assert_eq!(fresh["reference"], format!("DR-{year}-001"));
    let days = fresh["days_left"].as_i64().expect("days");
    assert!((28..=31).contains(&days) && fresh["overdue"] == false, "{fresh}");
    let (_, second) = dpo
        .call(
            &app,
            Method::POST,
            "/api/v1/gdpr/cases",
            Some(json!({ "kind": "objection", "received_on": "2024-03-01" })),
        )
        .await;
    assert_eq!(second["reference"], "DR-2024-002");

    // Refused input, with stable codes.
    for (body, code) in [
        (json!({ "kind": "complaint" }), "bad_json"),
        (json!({ "kind": "access", "received_on": "31/01/2026" }), "invalid"),
        (json!({ "kind": "access", "received_on": "2999-01-01" }), "invalid"),
        (json!({ "kind": "access", "subject": 999 }), "unknown_subject"),
    ] {
        let (status, error) = dpo.call(&app, Method::POST, "/api/v1/gdpr/cases", Some(body.clone())).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{body}: {error}");
    }
    assert_eq!(clerk.call(&app, Method::GET, "/api/v1/gdpr/cases", None).await.0, StatusCode::FORBIDDEN);
    let refused = clerk.call(&app, Method::POST, "/api/v1/gdpr/cases", Some(json!({ "kind": "access" }))).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);

    // Open cases, earliest deadline first.
    let (status, list) = dpo.call(&app, Method::GET, "/api/v1/gdpr/cases", None).await;
    assert_eq!(status, StatusCode::OK);
    let refs: Vec<&str> =
        list["cases"].as_array().expect("cases").iter().filter_map(|c| c["reference"].as_str()).collect();
    assert_eq!(refs, ["DR-2024-001", "DR-2024-002", &format!("DR-{year}-001")]);

    // Close one: it leaves the open list, is no longer overdue, and the change is audited.
    let id = late["id"].as_i64().expect("id");
    let path = format!("/api/v1/gdpr/cases/{id}");
    let (status, done) =
        dpo.call(&app, Method::PATCH, &path, Some(json!({ "status": "done", "notes": "Erased; reply sent" }))).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["status"].as_str(), done["overdue"].as_bool()), (Some("done"), Some(false)));
    assert_eq!(done["notes"], "Erased; reply sent");
    assert!(done["closed_at"].is_string());
    let (_, open) = dpo.call(&app, Method::GET, "/api/v1/gdpr/cases", None).await;
    assert_eq!(open["cases"].as_array().map(Vec::len), Some(2));
    let (_, all) = dpo.call(&app, Method::GET, "/api/v1/gdpr/cases?status=all", None).await;
    assert_eq!(all["cases"].as_array().map(Vec::len), Some(3));
    let (status, error) =
        dpo.call(&app, Method::PATCH, "/api/v1/gdpr/cases/999", Some(json!({ "status": "done" }))).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_case")));
    let (status, error) = dpo.call(&app, Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")));
    let (status, error) = dpo.call(&app, Method::PATCH, &path, Some(json!({ "subject": 999 }))).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_subject")));
    let (status, reopened) =
        dpo.call(&app, Method::PATCH, &path, Some(json!({ "status": "open", "subject": null }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((reopened["overdue"].as_bool(), reopened["closed_at"].is_null()), (Some(true), true));

    let (_, audit) = dpo.call(&app, Method::GET, "/api/v1/audit?limit=100", None).await;
    let entries = audit.as_array().expect("entries");
    let update = entries.iter().find(|e| e["action"] == "gdpr.case.update").expect("update audited");
    assert_eq!(update["target"], "case DR-2024-001");
    assert!(entries.iter().any(|e| e["action"] == "gdpr.case.create" && e["details"] == "kind erasure"));
    assert!(!audit.to_string().contains("By letter") && !audit.to_string().contains("reply sent"), "no notes: {audit}");
    app.stop().await;
}
