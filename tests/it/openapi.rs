//! The OpenAPI document and the API agree: every operation, called signed in and signed out,
//! answers a status the document lists for it, with a body that validates against the schema
//! given for that status; a repeated query parameter and a non-numeric id in a path get 400.
//! The validator covers the subset of JSON Schema the document uses (`pattern` is not checked).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_support::{PASSWORD, operator, start, visitor};
use crate::harness::TestApp;
use crate::routes::concrete;

fn document() -> Value {
    serde_json::from_str(parley::http::api::OPENAPI).expect("OpenAPI document is JSON")
}

/// Follows a `$ref` to `#/components/...`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => resolve(doc, doc.pointer(&format!("/{pointer}")).unwrap_or(&Value::Null)),
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Appends to `errors` every way `value` breaks `schema` (at JSON pointer `at`).
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let mut fail = |problem: String| errors.push(format!("{at}: {problem}"));
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !names.iter().any(|n| type_matches(n, value)) {
            fail(format!("{value} is not of type {types}"));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        fail(format!("{value} is not one of {}", schema["enum"]));
    }
    for (key, combine) in [("oneOf", "one"), ("anyOf", "any")] {
        if let Some(variants) = schema[key].as_array() {
            let matching = variants
                .iter()
                .filter(|v| {
                    let mut inner = Vec::new();
                    validate(doc, v, value, at, &mut inner);
                    inner.is_empty()
                })
                .count();
            if matching == 0 || (combine == "one" && matching > 1) {
                fail(format!("{value} matches {matching} of the {key} variants"));
            }
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        validate(doc, part, value, at, errors);
    }
    let mut fail = |problem: String| errors.push(format!("{at}: {problem}"));
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if schema["maxLength"].as_u64().is_some_and(|max| chars > max) {
            fail(format!("longer than {}", schema["maxLength"]));
        }
        if schema["minLength"].as_u64().is_some_and(|min| chars < min) {
            fail(format!("shorter than {}", schema["minLength"]));
        }
        let well_formed = match schema["format"].as_str() {
            Some("date-time") => {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
            }
            Some("date") => time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).is_ok(),
            Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
            Some("email") => text.contains('@'),
            _ => true,
        };
        if !well_formed {
            fail(format!("`{text}` is not a {}", schema["format"]));
        }
    }
    if let Some(number) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| number < min) {
            fail(format!("{number} is below {}", schema["minimum"]));
        }
        if schema["maximum"].as_f64().is_some_and(|max| number > max) {
            fail(format!("{number} is above {}", schema["maximum"]));
        }
    }
    if let Some(items) = value.as_array() {
        if schema["maxItems"].as_u64().is_some_and(|max| items.len() as u64 > max) {
            fail(format!("more than {} items", schema["maxItems"]));
        }
        if schema["minItems"].as_u64().is_some_and(|min| (items.len() as u64) < min) {
            fail(format!("fewer than {} items", schema["minItems"]));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(doc, item_schema, item, &format!("{at}/{i}"), errors);
            }
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: `{name}` is required but missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, item) in object {
            let path = format!("{at}/{name}");
            match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
                (Some(property), _) => validate(doc, property, item, &path, errors),
                (None, Some(Value::Bool(false))) => errors.push(format!("{path}: not in the schema")),
                (None, Some(extra @ Value::Object(_))) => validate(doc, extra, item, &path, errors),
                (None, _) => {}
            }
        }
    }
}

/// A value the schema accepts: examples and defaults first, then the smallest valid one.
fn example(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["examples"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    if let Some(first) = schema["oneOf"].as_array().and_then(|v| v.first()) {
        return example(doc, first);
    }
    let kind = match &schema["type"] {
        Value::Array(many) => many.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        other => other.as_str().unwrap_or("object"),
    };
    match kind {
        "object" => {
            let mut out = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                out.insert(name.to_owned(), example(doc, &schema["properties"][name]));
            }
            Value::Object(out)
        }
        "array" => {
            let count = schema["minItems"].as_u64().unwrap_or(0) as usize;
            Value::Array(vec![example(doc, &schema["items"]); count])
        }
        "string" => match schema["format"].as_str() {
            Some("date") => json!("2027-01-04"),
            Some("date-time") => json!("2027-01-04T10:00:00Z"),
            Some("email") => json!("someone@example.org"),
            Some("uuid") => json!("0b4e2c7a-7c0e-4a43-9d6a-3a8d2f6f0d11"),
            _ => json!("x".repeat(schema["minLength"].as_u64().unwrap_or(12).max(12) as usize)),
        },
        "integer" | "number" => json!(schema["minimum"].as_i64().unwrap_or(1)),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

struct Operation {
    method: Method,
    template: String,
    spec: Value,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, spec) in item.as_object().expect("path item") {
            ops.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                template: template.clone(),
                spec: spec.clone(),
            });
        }
    }
    // Signing out ends the session the walk uses: last.
    ops.sort_by_key(|op| op.method == Method::DELETE && op.template == "/api/v1/session");
    ops
}

/// Checks one response against its operation; returns the problems.
async fn check(doc: &Value, op: &Operation, url: &str, response: reqwest::Response) -> Vec<String> {
    let status = response.status();
    let name = format!("{} {url} → {status}", op.method);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = response.bytes().await.unwrap_or_default();
    let Some(documented) = op.spec["responses"].get(status.as_str()).or(op.spec["responses"].get("default")) else {
        return vec![format!("{name}: status not documented ({})", String::from_utf8_lossy(&body))];
    };
    let documented = resolve(doc, documented);
    let Some(content) = documented["content"].as_object() else {
        return match body.is_empty() {
            true => vec![],
            false => vec![format!("{name}: documented without a body, answered {content_type}")],
        };
    };
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(media_spec) = content.get(media) else {
        return vec![format!("{name}: answered {media}, documented {:?}", content.keys().collect::<Vec<_>>())];
    };
    if media != "application/json" {
        return vec![];
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return vec![format!("{name}: body is not JSON: {e}")],
    };
    let mut errors = Vec::new();
    validate(doc, &media_spec["schema"], &value, "", &mut errors);
    errors.into_iter().map(|e| format!("{name}: {e} (body {value})")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented() {
    let doc = document();
    let app = TestApp::spawn().await;
    app.add_user("root1", "administrator", PASSWORD).await;
    let (cookie, csrf) = app.login("root1", PASSWORD).await;
    // Users of every built-in role, so the user lists show each.
    for role in ["supervisor", "dpo", "auditor"] {
        app.add_user(&format!("{role}1"), role, PASSWORD).await;
    }
    // A waiting chat, so lists and transcripts have something in them.
    let _staff = operator(&app, "pip").await;
    let mut ws = visitor(&app).await;
    let (conversation, _token) = start(&mut ws, "Ada").await;
    let mut problems = Vec::new();
    let mut walked = 0;
    for op in operations(&doc) {
        let path = concrete(&op.template.replace("{conversation}", &conversation));
        // Required query parameters get an example value.
        let query: Vec<String> = op.spec["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let value = example(&doc, &p["schema"]);
                let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                format!("{}={value}", p["name"].as_str().unwrap_or_default())
            })
            .collect();
        let url = match query.is_empty() {
            true => app.staff(&path),
            false => app.staff(&format!("{path}?{}", query.join("&"))),
        };
        let body = op.spec["requestBody"]["content"]["application/json"]["schema"]
            .as_object()
            .map(|_| example(&doc, &op.spec["requestBody"]["content"]["application/json"]["schema"]));
        for signed_in in [false, true] {
            let mut request = app.client.request(op.method.clone(), &url);
            if signed_in {
                request = request.header("cookie", &cookie).header("x-csrf-token", &csrf);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.expect("request");
            problems.extend(check(&doc, &op, &url, response).await);
        }
        walked += 1;
    }
    assert!(walked >= 60, "walked {walked} operations");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn repeated_query_parameters_and_non_numeric_ids_get_400() {
    let doc = document();
    let app = TestApp::spawn().await;
    app.add_user("root1", "administrator", PASSWORD).await;
    let (cookie, csrf) = app.login("root1", PASSWORD).await;
    let mut checked = (0, 0);
    for op in operations(&doc) {
        let params = op.spec["parameters"].as_array().cloned().unwrap_or_default();
        let query: Vec<&str> =
            params.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).collect();
        let numeric: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "path" && p["schema"]["type"] == "integer")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let mut urls = Vec::new();
        for name in query {
            let url = format!("{}?{name}=1&{name}=2", app.staff(&concrete(&op.template)));
            urls.push((url, "repeated_query_parameter"));
            checked.0 += 1;
        }
        for name in numeric {
            let path = concrete(&op.template.replace(&format!("{{{name}}}"), "abc"));
            urls.push((app.staff(&path), "bad_path_parameter"));
            checked.1 += 1;
        }
        for (url, code) in urls {
            let response = app
                .client
                .request(op.method.clone(), &url)
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{} {url}", op.method);
            assert!(op.spec["responses"].get("400").is_some(), "{} {}: 400 is documented", op.method, op.template);
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["code"], code, "{} {url}", op.method);
        }
    }
    assert!(checked.0 >= 5 && checked.1 >= 10, "checked {checked:?}");
    app.stop().await;
}

#[test]
fn user_roles_name_every_built_in_role() {
    let doc = document();
    for schema in ["StaffUser", "User"] {
        let role = &doc["components"]["schemas"][schema]["properties"]["role"];
        assert_eq!(role["type"], "string");
        assert!(role.get("enum").is_none(), "custom roles are allowed too, so no closed list: {role}");
        let examples: Vec<&str> =
            role["examples"].as_array().expect("examples").iter().filter_map(Value::as_str).collect();
        for built_in in ["operator", "supervisor", "administrator", "dpo", "auditor"] {
            assert!(examples.contains(&built_in), "{built_in} in {examples:?}");
        }
        let description = role["description"].as_str().unwrap_or_default();
        assert!(description.contains("custom"), "{description}");
    }
}

#[test]
fn the_validator_finds_what_it_should() {
    let doc = document();
    let schema = json!({ "$ref": "#/components/schemas/Error" });
    let mut errors = Vec::new();
    validate(&doc, &schema, &json!({ "code": "x", "message": "y" }), "", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    validate(&doc, &schema, &json!({ "code": 1 }), "", &mut errors);
    assert!(errors.iter().any(|e| e.contains("message")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("/code")), "{errors:?}");
    let mut errors = Vec::new();
    let strict = json!({ "type": "object", "additionalProperties": false, "properties": { "a": { "type": ["string", "null"], "format": "date" } } });
    validate(&doc, &strict, &json!({ "a": null }), "", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    validate(&doc, &strict, &json!({ "a": "2026-13-01", "b": 1 }), "", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
}
