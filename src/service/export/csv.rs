//! The export as one CSV file (RFC 4180: CRLF line ends, fields quoted when needed) with the
//! flat columns category, record, time, field, value — one line per stored value.

use super::tables::Table;

/// Quotes a field when it holds a comma, quote or line break; a value that a spreadsheet would
/// take for a formula gets a leading apostrophe.
fn field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn line(out: &mut String, fields: &[&str]) {
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, value);
    }
    out.push_str("\r\n");
}

pub fn render(tables: &[Table]) -> String {
    let mut out = String::new();
    line(&mut out, &["category", "record", "time", "field", "value"]);
    for table in tables {
        for row in &table.rows {
            let (record, time) = (row.first().map_or("", String::as_str), row.get(1).map_or("", String::as_str));
            for (header, value) in table.headers.iter().zip(row).skip(2) {
                if !value.is_empty() {
                    line(&mut out, &[table.name, record, time, header, value]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_rfc_4180_and_guards_formulas() {
        let mut out = String::new();
        line(&mut out, &["a,b", "say \"hi\"", "two\nlines", "=1+1", "plain"]);
        assert_eq!(out, "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",'=1+1,plain\r\n");
    }
}
