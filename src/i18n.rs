//! The two languages of every message: Chinese (default) and English.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks from an `Accept-Language` header by quality; anything but English means Chinese.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The messages of the driving record (驾驶记录) on the secondary page: one a registry event.
pub mod driving_record {
    use super::Lang;
    use chrono::NaiveDate;

    /// The points of the scoring cycle changed; `new_cycle` when a new cycle began with it.
    pub fn points_changed(
        lang: Lang,
        points: u8,
        limit: u8,
        new_cycle: Option<NaiveDate>,
    ) -> String {
        match (lang, new_cycle) {
            (Lang::Zh, None) => format!("记分变更：本记分周期累计 {points} 分（满分 {limit} 分）"),
            (Lang::Zh, Some(d)) => {
                format!("新记分周期自 {d} 起，累计 {points} 分（满分 {limit} 分）")
            }
            (Lang::En, None) => {
                format!("points changed: {points} of {limit} in this scoring cycle")
            }
            (Lang::En, Some(d)) => {
                format!("a new scoring cycle from {d}: {points} of {limit} points")
            }
        }
    }

    /// A registry state was put on the licence: `name_zh` (暂扣) or its code (`suspended`).
    pub fn status_set(lang: Lang, name_zh: &str, code: &str) -> String {
        match lang {
            Lang::Zh => format!("驾驶证状态变更为{name_zh}"),
            Lang::En => format!("status set: {}", code.replace('_', " ")),
        }
    }

    /// A registry state was lifted.
    pub fn status_cleared(lang: Lang, name_zh: &str, code: &str) -> String {
        match lang {
            Lang::Zh => format!("解除{name_zh}状态"),
            Lang::En => format!("status cleared: {}", code.replace('_', " ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_negotiation() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language(Some("zh;q=0.5, en;q=0.8")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("fr-FR")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.3")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en;q=0")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some(";;;,,q=x")), Lang::Zh);
    }
}
