//! AIM clients send messages as HTML fragments (`<HTML><BODY><FONT …>hi</FONT>…`). The
//! readable text keeps what a person saw: tags dropped, line breaks kept, the common
//! character references decoded.

/// `html` without its markup. Never fails: text that is not HTML comes back as it is.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => match rest.find('>') {
                Some(end) => {
                    if is_break(&rest[1..end]) {
                        out.push('\n');
                    }
                    rest = &rest[end + 1..];
                }
                // A lone '<' is text.
                None => {
                    out.push_str(rest);
                    break;
                }
            },
            '&' => {
                let (ch, used) = entity(rest);
                out.push(ch);
                rest = &rest[used..];
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

fn is_break(tag: &str) -> bool {
    let name = tag.trim_start_matches('/').trim();
    let name = name
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or("");
    name.eq_ignore_ascii_case("br") || (name.eq_ignore_ascii_case("p") && tag.starts_with('/'))
}

/// The character a reference at the start of `s` stands for, and its length; a bare '&'
/// when it is not one.
fn entity(s: &str) -> (char, usize) {
    let semicolon = s.char_indices().take(12).find(|&(_, c)| c == ';');
    let Some((end, _)) = semicolon else {
        return ('&', 1);
    };
    let name = &s[1..end];
    let ch = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => name.strip_prefix('#').and_then(|n| {
            let v = match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            };
            v.and_then(char::from_u32)
        }),
    };
    match ch {
        Some(c) => (c, end + 1),
        None => ('&', 1),
    }
}
