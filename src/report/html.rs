//! Self-contained HTML pages from the Markdown statebench writes (report.html from report.md,
//! compare.html from compare.md): one file with its plots inline, which a browser opens without
//! the run directory beside it.
//!
//! The converter knows the Markdown subset the report modules write, no more: headings, paragraphs,
//! pipe tables, fenced code, block quotes, `- ` lists, images on a line of their own, and inline
//! code, bold and links. An image whose target the caller can inline becomes a base64 `data:` URI.

use std::fmt::Write;

use base64::Engine;

/// An image's bytes and MIME type, for its Markdown target (None: leave the link as it is).
pub type InlineImage<'a> = &'a dyn Fn(&str) -> Option<(Vec<u8>, &'static str)>;

/// A whole HTML page of `markdown`, titled `title`, with the images `inline` gives inlined.
pub fn page(title: &str, markdown: &str, inline: InlineImage<'_>) -> String {
    let mut body = String::new();
    let mut lines = markdown.lines().peekable();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |body: &mut String, paragraph: &mut Vec<&str>| {
        if !paragraph.is_empty() {
            let _ = writeln!(body, "<p>{}</p>", inline_html(&paragraph.join(" ")));
            paragraph.clear();
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            flush(&mut body, &mut paragraph);
        } else if let Some(fence) = trimmed.strip_prefix("```") {
            flush(&mut body, &mut paragraph);
            let mut code = String::new();
            for l in lines.by_ref() {
                if l.trim_end() == "```" {
                    break;
                }
                code.push_str(l);
                code.push('\n');
            }
            let _ = writeln!(
                body,
                "<pre><code class=\"language-{}\">{}</code></pre>",
                escape(fence.trim()),
                escape(&code)
            );
        } else if let Some((level, text)) = heading(trimmed) {
            flush(&mut body, &mut paragraph);
            let _ = writeln!(body, "<h{level}>{}</h{level}>", inline_html(text));
        } else if trimmed.starts_with('|') {
            flush(&mut body, &mut paragraph);
            let mut rows = vec![trimmed];
            while let Some(next) = lines.peek().filter(|l| l.trim_start().starts_with('|')) {
                rows.push(next.trim_end());
                lines.next();
            }
            table(&mut body, &rows);
        } else if let Some(quote) = trimmed.strip_prefix('>') {
            flush(&mut body, &mut paragraph);
            let mut text = vec![quote.trim()];
            while let Some(next) = lines.peek().and_then(|l| l.strip_prefix('>')) {
                text.push(next.trim());
                lines.next();
            }
            let _ = writeln!(
                body,
                "<blockquote><p>{}</p></blockquote>",
                inline_html(&text.join(" "))
            );
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            flush(&mut body, &mut paragraph);
            let mut items = vec![item.to_string()];
            while let Some(next) = lines.peek() {
                if let Some(item) = next.strip_prefix("- ") {
                    items.push(item.trim_end().to_string());
                } else if next.starts_with("  ") && !next.trim().is_empty() {
                    // A continuation line of the item above.
                    if let Some(last) = items.last_mut() {
                        last.push(' ');
                        last.push_str(next.trim());
                    }
                } else {
                    break;
                }
                lines.next();
            }
            body.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(body, "<li>{}</li>", inline_html(&item));
            }
            body.push_str("</ul>\n");
        } else if let Some((alt, target)) = image(trimmed) {
            flush(&mut body, &mut paragraph);
            let src = match inline(target) {
                Some((bytes, mime)) => format!(
                    "data:{mime};base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ),
                None => escape(target),
            };
            let _ = writeln!(
                body,
                "<figure><img class=\"plot\" alt=\"{}\" src=\"{src}\"><figcaption>{}</figcaption></figure>",
                escape(alt),
                escape(alt)
            );
        } else {
            paragraph.push(trimmed);
        }
    }
    flush(&mut body, &mut paragraph);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// The page's look: readable widths, tables that scroll rather than overflow, plots that fit.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;\
background:#fff;color:#1b1f23;line-height:1.5}main{max-width:1200px;margin:0 auto;padding:24px}\
h1,h2,h3{line-height:1.25}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:2em}\
table{border-collapse:collapse;display:block;overflow-x:auto;margin:1em 0;font-size:14px}\
th,td{border:1px solid #d0d7de;padding:4px 8px;white-space:nowrap}th{background:#f6f8fa}\
td.r,th.r{text-align:right}td.c,th.c{text-align:center}\
code{background:#f6f8fa;padding:1px 4px;border-radius:4px;font-size:90%}\
pre{background:#f6f8fa;padding:12px;overflow-x:auto}pre code{padding:0}\
blockquote{border-left:4px solid #d1242f;margin:1em 0;padding:0 12px;background:#fff5f5}\
figure{margin:1em 0}img.plot{max-width:100%;height:auto;border:1px solid #eaeef2}\
figcaption{color:#57606a;font-size:13px}";

/// `## text` → (2, "text").
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    let text = line[level..].strip_prefix(' ')?;
    (1..=6).contains(&level).then_some((level, text))
}

/// `![alt](target)` alone on a line.
fn image(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("![")?;
    let (alt, rest) = rest.split_once("](")?;
    let target = rest.strip_suffix(')')?;
    Some((alt, target))
}

/// A pipe table: header row, alignment row, body rows.
fn table(body: &mut String, rows: &[&str]) {
    let cells = |row: &str| -> Vec<String> {
        let inner = row.trim().trim_start_matches('|');
        let inner = inner.strip_suffix('|').unwrap_or(inner);
        split_cells(inner)
    };
    let align: Vec<&'static str> = rows
        .get(1)
        .map(|r| {
            cells(r)
                .iter()
                .map(|c| match (c.starts_with(':'), c.ends_with(':')) {
                    (true, true) => " class=\"c\"",
                    (false, true) => " class=\"r\"",
                    _ => "",
                })
                .collect()
        })
        .unwrap_or_default();
    let has_alignment_row = rows
        .get(1)
        .is_some_and(|r| r.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')));
    body.push_str("<table>\n<thead><tr>");
    for (i, c) in cells(rows[0]).iter().enumerate() {
        let a = align.get(i).copied().unwrap_or("");
        let _ = write!(body, "<th{a}>{}</th>", inline_html(c));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows[if has_alignment_row { 2 } else { 1 }..] {
        body.push_str("<tr>");
        for (i, c) in cells(row).iter().enumerate() {
            let a = align.get(i).copied().unwrap_or("");
            let _ = write!(body, "<td{a}>{}</td>", inline_html(c));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n");
}

/// Splits a table row's inside at `|` outside code spans.
fn split_cells(inner: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    for ch in inner.chars() {
        match ch {
            '|' if !in_code => cells.push(std::mem::take(&mut cell)),
            _ => {
                in_code ^= ch == '`';
                cell.push(ch);
            }
        }
    }
    cells.push(cell);
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// Inline Markdown: `code`, **bold**, [text](link); everything else escaped.
fn inline_html(text: &str) -> String {
    let mut out = String::new();
    // Odd pieces between backticks are code spans.
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(piece));
            continue;
        }
        let mut rest = escape(piece);
        // Bold.
        let mut bolded = String::new();
        let mut open = false;
        while let Some(at) = rest.find("**") {
            bolded.push_str(&rest[..at]);
            bolded.push_str(if open { "</strong>" } else { "<strong>" });
            open = !open;
            rest = rest[at + 2..].to_string();
        }
        bolded.push_str(&rest);
        if open {
            bolded.push_str("</strong>");
        }
        out.push_str(&links(&bolded));
    }
    out
}

/// `[text](target)` → a link, in already escaped text.
fn links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some((label, after)) = rest[open + 1..].split_once("](") else {
            break;
        };
        let Some((target, tail)) = after.split_once(')') else {
            break;
        };
        if label.contains('[') || target.contains(' ') {
            out.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        let _ = write!(out, "{}<a href=\"{target}\">{label}</a>", &rest[..open]);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD: &str = "# statebench: <t>\n\nline one\nline **two** with `a|b` and [log](h/x.hlog)\n\n\
> **WARNING: bad**\n\n| cell | ops/s | ok |\n|---|--:|:-:|\n| `x` | 1 k | ✔ |\n\n\
```yaml\nkey: <v>\n```\n\n- first\n  continued\n- second\n\n![p99 per cell](plots/p99.png)\n\n![missing](plots/none.png)\n";

    fn render() -> String {
        page("t", MD, &|target| {
            (target == "plots/p99.png").then(|| (b"<svg/>".to_vec(), "image/svg+xml"))
        })
    }

    #[test]
    fn the_report_subset_becomes_html() {
        let html = render();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<h1>statebench: &lt;t&gt;</h1>"), "{html}");
        assert!(html.contains(
            "<p>line one line <strong>two</strong> with <code>a|b</code> and <a href=\"h/x.hlog\">log</a></p>"
        ));
        assert!(html.contains("<blockquote><p><strong>WARNING: bad</strong></p></blockquote>"));
        assert!(html.contains("<th class=\"r\">ops/s</th>"));
        assert!(
            html.contains("<td><code>x</code></td><td class=\"r\">1 k</td><td class=\"c\">✔</td>")
        );
        assert!(html.contains("<pre><code class=\"language-yaml\">key: &lt;v&gt;\n</code></pre>"));
        assert!(html.contains("<li>first continued</li>\n<li>second</li>"));
    }

    #[test]
    fn images_are_inlined_when_their_bytes_are_given() {
        let html = render();
        // base64 of "<svg/>".
        assert!(
            html.contains("src=\"data:image/svg+xml;base64,PHN2Zy8+\""),
            "{html}"
        );
        assert!(html.contains("src=\"plots/none.png\""));
        assert_eq!(html.matches("<img").count(), 2);
    }
}
