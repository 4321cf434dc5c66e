//! A small, valid, text-only PDF (1.4): A4 pages, the standard Helvetica fonts in WinAnsi
//! encoding (characters outside it become `?`), lines wrapped to the page width, as many pages
//! as needed. Built in memory.

use super::tables::Line;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const SIZE: f32 = 10.0;
const HEADING_SIZE: f32 = 12.0;
const LEADING: f32 = 14.0;

/// Approximate Helvetica advance width of a character, in 1/1000 em.
fn width(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '\'' | '|' => 222.0,
        ' ' | 'f' | 't' | 'I' | '.' | ',' | ':' | ';' | '!' | '/' | '(' | ')' | '[' | ']' => 278.0,
        'r' | '-' => 333.0,
        'm' | 'M' | 'W' | '@' => 890.0,
        'w' => 722.0,
        'A'..='Z' => 722.0,
        _ => 556.0,
    }
}

/// Splits `text` into lines at most `max` points wide (at `size`), at spaces where possible.
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let fits = |s: &str| s.chars().map(width).sum::<f32>() * size / 1000.0 <= max;
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
        if fits(&candidate) {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // A word wider than the line is broken anywhere.
        for c in word.chars() {
            current.push(c);
            if !fits(&current) {
                current.pop();
                lines.push(std::mem::take(&mut current));
                current.push(c);
            }
        }
    }
    lines.push(current);
    lines
}

/// The WinAnsi byte of a character, if it has one.
fn win_ansi(c: char) -> Option<u8> {
    let code = c as u32;
    if (0x20..0x7f).contains(&code) || (0xa0..=0xff).contains(&code) {
        return Some(code as u8);
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    })
}

/// A PDF literal string `( … )` in WinAnsi, kept to ASCII with octal escapes.
fn literal(text: &str) -> String {
    let mut out = String::from("(");
    for c in text.chars() {
        let c = if c == '\t' { ' ' } else { c };
        match win_ansi(c).unwrap_or(b'?') {
            b'(' => out.push_str("\\("),
            b')' => out.push_str("\\)"),
            b'\\' => out.push_str("\\\\"),
            b if b < 0x80 => out.push(b as char),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push(')');
    out
}

/// The content streams of the pages.
fn pages(lines: &[Line]) -> Vec<String> {
    let max = PAGE_WIDTH - 2.0 * MARGIN;
    let per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LEADING) as usize;
    let mut wrapped: Vec<(bool, String)> = Vec::new();
    for line in lines {
        let (heading, size) = match line {
            Line::Heading(_) => (true, HEADING_SIZE),
            Line::Text(_) => (false, SIZE),
        };
        wrapped.extend(wrap(line.as_str(), size, max).into_iter().map(|l| (heading, l)));
    }
    let mut streams = Vec::new();
    for chunk in wrapped.chunks(per_page.max(1)) {
        let mut s = format!("BT\n{LEADING} TL\n{MARGIN} {} Td\n", PAGE_HEIGHT - MARGIN - SIZE);
        for (heading, text) in chunk {
            let font = if *heading { format!("/F2 {HEADING_SIZE} Tf") } else { format!("/F1 {SIZE} Tf") };
            s.push_str(&format!("{font}\n{} Tj\nT*\n", literal(text)));
        }
        s.push_str("ET\n");
        streams.push(s);
    }
    if streams.is_empty() {
        streams.push("BT\nET\n".to_owned());
    }
    streams
}

/// The PDF file of `lines`.
pub fn render(lines: &[Line]) -> Vec<u8> {
    let streams = pages(lines);
    // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, then a page and its content per page.
    let mut objects: Vec<String> = Vec::new();
    let kids: Vec<String> = (0..streams.len()).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), streams.len()));
    for font in ["Helvetica", "Helvetica-Bold"] {
        objects.push(format!("<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"));
    }
    for (i, stream) in streams.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * i
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{stream}endstream", stream.len()));
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    table.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes_text() {
        assert_eq!(literal("a (b) \\ café – ŵ"), "(a \\(b\\) \\\\ caf\\351 \\226 ?)");
    }

    #[test]
    fn wraps_long_lines_and_words() {
        let long = "word ".repeat(100);
        let lines = wrap(long.trim(), SIZE, 200.0);
        assert!(lines.len() > 5 && lines.iter().all(|l| l.len() <= 60), "{lines:?}");
        let unbroken = "x".repeat(300);
        assert!(wrap(&unbroken, SIZE, 200.0).len() > 2);
    }

    #[test]
    fn many_lines_make_many_pages_with_a_correct_xref() {
        let lines: Vec<Line> = (0..200).map(|i| Line::Text(format!("line {i}"))).collect();
        let pdf = render(&lines);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Count 4"), "200 lines at 52 a page");
        let start: usize =
            text.rsplit("startxref\n").next().and_then(|t| t.lines().next()).and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(pdf[start..].starts_with(b"xref"));
    }
}
