//! The e-licence as card images, about 1000 px wide for a phone screen: the front page (正页)
//! with the photo, the particulars, the QR code and barcode of the display code, and the
//! secondary page (副页) with address, authority, points and the class-code explanations.
//! Plain values in, PNG bytes out. A missing or unreadable photo gets a placeholder box.

use super::barcode::Code128;
use super::canvas::{self, Rect, WHITE};
use super::qr::QrMatrix;
use super::text::{self, Style};
use super::{png_from_rgb, RenderError};
use ab_glyph::FontRef;
use chrono::{DateTime, NaiveDate, Utc};
use image::{Rgb, RgbImage};
use serde::Serialize;

pub const WIDTH: u32 = 1000;
/// The front page's height when every value fits one line (a long name or number may wrap
/// and push the codes down); the secondary page grows with its classes.
pub const FRONT_HEIGHT: u32 = CODES_TOP + 16 + QR_SIDE + 20 + BARS_HEIGHT + 100 + 36 + MARGIN;
const CODES_TOP: u32 = 684;
const QR_SIDE: u32 = 440;
const BARS_HEIGHT: u32 = 130;

/// 正页: what the front page shows.
#[derive(Debug, Clone)]
pub struct FrontCard {
    pub licence_number: String,
    /// A Chinese name, or the Latin name of a foreign national.
    pub name: String,
    /// "男" or "女".
    pub sex: String,
    pub nationality: String,
    pub birth_date: NaiveDate,
    pub first_issued: NaiveDate,
    /// Class codes: "C1", "D".
    pub classes: Vec<String>,
    /// "2018-03-05 至 2028-03-05" or "2013-07-15 至 长期".
    pub validity: String,
    /// JPEG or PNG bytes.
    pub photo: Option<Vec<u8>>,
    /// The display code: the QR text and the barcode digits.
    pub code: String,
    pub barcode: String,
    /// When the e-licence was generated; shown in Beijing time.
    pub generated_at: DateTime<Utc>,
}

/// One class code explained: "C1", "小型汽车", and the classes it also allows.
#[derive(Debug, Clone, Serialize)]
pub struct ClassLine {
    pub code: String,
    pub name: String,
    pub also_covers: Vec<String>,
}

/// One entry of the driving record (驾驶记录): the day, and what happened, in Chinese.
#[derive(Debug, Clone, Serialize)]
pub struct RecordLine {
    pub date: NaiveDate,
    pub text: String,
}

/// The driving record entries the secondary page draws; older ones are counted in one line.
pub const RECORD_LINES: usize = 5;
const RECORD_ROW: f32 = 48.0;
const RECORD_DATE: Style = Style::new(24.0, MUTED);

/// The most the secondary page can take: it grows with its classes and its driving record
/// (at most [`RECORD_LINES`] entries and a count of the rest), and is cut to what it drew.
pub fn max_secondary_height(classes: usize) -> u32 {
    1500 + 200 * classes as u32 + ROW as u32 + (RECORD_LINES as u32 + 1) * RECORD_ROW as u32
}

/// 副页: what the secondary page shows.
#[derive(Debug, Clone, Serialize)]
pub struct SecondaryCard {
    pub licence_number: String,
    pub name: String,
    pub address: String,
    pub issuing_authority: String,
    /// The registry states in Chinese; none is 正常.
    pub states: Vec<String>,
    pub points: u8,
    pub points_limit: u8,
    pub cycle_start: NaiveDate,
    pub cycle_end: NaiveDate,
    /// The driving record of the scoring cycle, newest first.
    pub record: Vec<RecordLine>,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
    pub classes: Vec<ClassLine>,
}

impl SecondaryCard {
    /// A digest of everything the page shows: equal keys render equal images.
    pub fn cache_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{:x}", Sha256::digest(&json))
    }
}

const MARGIN: u32 = 24;
const INSET: u32 = 60;
const RIGHT: f32 = (WIDTH - INSET) as f32;
const VALUE_X: f32 = 236.0;
const ROW: f32 = 64.0;
const FIELDS_TOP: f32 = 252.0;
/// The photo on the front, 5:7 like a licence photo.
const PHOTO_BOX: Rect = Rect::new(WIDTH - INSET - 260, 210, 260, 364);

const PAGE: Rgb<u8> = Rgb([232, 238, 245]);
const HEADER: Rgb<u8> = Rgb([24, 74, 140]);
const STRIPE: Rgb<u8> = Rgb([201, 162, 74]);
const SOFT: Rgb<u8> = Rgb([205, 220, 242]);
const RULE: Rgb<u8> = Rgb([208, 218, 230]);
const PLACEHOLDER: Rgb<u8> = Rgb([240, 243, 247]);
const INK: Rgb<u8> = Rgb([22, 26, 33]);
const MUTED: Rgb<u8> = Rgb([98, 110, 128]);

const LABEL: Style = Style::new(26.0, MUTED);
const VALUE: Style = Style::new(32.0, INK);

/// A page being drawn: the canvas and the font.
struct Page {
    img: RgbImage,
    font: &'static FontRef<'static>,
}

impl Page {
    fn new(height: u32, title: &str, subtitle: &str) -> Result<Page, RenderError> {
        let mut page = Page {
            img: RgbImage::from_pixel(WIDTH, height, WHITE),
            font: text::font()?,
        };
        let band = Rect::new(MARGIN, MARGIN, WIDTH - 2 * MARGIN, 150);
        canvas::fill(&mut page.img, band, HEADER);
        canvas::fill(&mut page.img, Rect::new(MARGIN, 174, band.w, 6), STRIPE);
        page.centred(96.0, Style::new(42.0, WHITE).bold(), title);
        page.centred(144.0, Style::new(22.0, SOFT), subtitle);
        Ok(page)
    }

    fn text(&mut self, x: f32, baseline: f32, style: Style, s: &str) -> f32 {
        text::draw(&mut self.img, self.font, (x, baseline), style, s)
    }

    fn centred(&mut self, baseline: f32, style: Style, s: &str) {
        let w = text::width(self.font, style.size, s);
        self.text((WIDTH as f32 - w) / 2.0, baseline, style, s);
    }

    /// "label value" centred as one line.
    fn centred_pair(&mut self, baseline: f32, label: &str, value: &str) {
        let gap = LABEL.size;
        let lw = text::width(self.font, LABEL.size, label);
        let vw = text::width(self.font, LABEL.size, value);
        let x = (WIDTH as f32 - lw - gap - vw) / 2.0;
        self.text(x, baseline, LABEL, label);
        self.text(x + lw + gap, baseline, Style::new(LABEL.size, INK), value);
    }

    /// A value from `x` to `right`: it shrinks to fit, down to three quarters of its size,
    /// else wraps onto at most three lines. Returns the baseline of the next row.
    fn value(&mut self, (x, baseline): (f32, f32), style: Style, s: &str, right: f32) -> f32 {
        let max_width = right - x;
        let min = (style.size * 0.75).round();
        if let Some(size) = text::fit(self.font, s, style.size, min, max_width) {
            self.text(x, baseline, style.sized(size), s);
            return baseline + ROW;
        }
        let size = (style.size * 0.875).round();
        let mut y = baseline;
        for line in text::wrap(self.font, s, size, max_width, 3) {
            self.text(x, y, style.sized(size), &line);
            y += size * 1.35;
        }
        y - size * 1.35 + ROW
    }

    fn field(&mut self, baseline: f32, label: &str, style: Style, s: &str, right: f32) -> f32 {
        self.text(INSET as f32, baseline, LABEL, label);
        self.value((VALUE_X, baseline), style, s, right)
    }

    /// 驾驶记录: a row saying how many entries, then the newest [`RECORD_LINES`], one a row
    /// (the day in the label column, what happened beside it), then how many older ones are
    /// left out. Returns the baseline of the next row.
    fn driving_record(&mut self, baseline: f32, record: &[RecordLine]) -> f32 {
        if record.is_empty() {
            return self.field(baseline, "驾驶记录", VALUE, "本记分周期内无记录", RIGHT);
        }
        let count = format!("本记分周期最近 {} 条", record.len());
        let mut y = self.field(baseline, "驾驶记录", VALUE, &count, RIGHT) - ROW + RECORD_ROW;
        let shown = record.len().min(RECORD_LINES);
        for line in &record[..shown] {
            self.text(INSET as f32, y, RECORD_DATE, &line.date.to_string());
            y = self.value((VALUE_X, y), VALUE.sized(28.0), &line.text, RIGHT) - ROW + RECORD_ROW;
        }
        if record.len() > shown {
            let rest = format!("另有 {} 条较早记录", record.len() - shown);
            self.text(VALUE_X, y, LABEL, &rest);
            y += RECORD_ROW;
        }
        y - RECORD_ROW + ROW
    }

    fn rule(&mut self, y: u32) {
        let r = Rect::new(INSET, y, WIDTH - 2 * INSET, 2);
        canvas::fill(&mut self.img, r, RULE);
    }

    fn photo(&mut self, photo: Option<&[u8]>, r: Rect) {
        let decoded = photo.and_then(canvas::decode_photo);
        match decoded {
            Some(img) => canvas::photo(&mut self.img, &img, r),
            None => {
                if photo.is_some() {
                    tracing::warn!("the e-licence photo could not be decoded; placeholder shown");
                }
                canvas::fill(&mut self.img, r, PLACEHOLDER);
                let note = if photo.is_some() {
                    "照片无法显示"
                } else {
                    "无照片"
                };
                let w = text::width(self.font, LABEL.size, note);
                let x = r.x as f32 + (r.w as f32 - w) / 2.0;
                self.text(x, (r.y + r.h / 2) as f32 + 9.0, LABEL, note);
            }
        }
        let border = Rect::new(r.x - 2, r.y - 2, r.w + 4, r.h + 4);
        canvas::frame(&mut self.img, border, 2, RULE);
    }

    /// Cuts the page to `height`, frames the card, and encodes it.
    fn finish(self, height: u32) -> Result<Vec<u8>, RenderError> {
        let height = height.clamp(MARGIN * 4, self.img.height());
        let mut img = image::imageops::crop_imm(&self.img, 0, 0, WIDTH, height).to_image();
        canvas::frame(&mut img, Rect::new(0, 0, WIDTH, height), MARGIN, PAGE);
        let card = Rect::new(MARGIN, MARGIN, WIDTH - 2 * MARGIN, height - 2 * MARGIN);
        canvas::frame(&mut img, card, 2, RULE);
        png_from_rgb(&img)
    }
}

/// "4623 3088 7254 3369 6927": the barcode digits in groups of four, as printed under it.
pub fn grouped(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    groups.join(" ")
}

/// The front page, `WIDTH` × `FRONT_HEIGHT` (taller only when a value wraps).
pub fn render_front(card: &FrontCard) -> Result<Vec<u8>, RenderError> {
    let qr = QrMatrix::encode(&card.code)?;
    let barcode = Code128::encode(&card.barcode)?;
    let mut p = Page::new(
        FRONT_HEIGHT + 600,
        "中华人民共和国机动车驾驶证",
        "电子驾驶证 · Electronic Driving Licence of the People's Republic of China",
    )?;
    p.photo(card.photo.as_deref(), PHOTO_BOX);
    let beside = PHOTO_BOX.x as f32 - 24.0;
    let mut y = p.field(FIELDS_TOP, "证号", VALUE, &card.licence_number, beside);
    y = p.field(y, "姓名", VALUE.sized(38.0).bold(), &card.name, beside);
    p.field(y, "性别", VALUE, &card.sex, beside);
    p.text(340.0, y, LABEL, "国籍");
    y = p.value((412.0, y), VALUE, &card.nationality, beside);
    y = p.field(y, "出生日期", VALUE, &card.birth_date.to_string(), beside);
    y = p.field(
        y,
        "初次领证日期",
        VALUE,
        &card.first_issued.to_string(),
        beside,
    );
    y = p.field(y, "准驾车型", VALUE.bold(), &card.classes.join(" "), beside);
    let below_photo = (PHOTO_BOX.y + PHOTO_BOX.h + 36) as f32;
    let y = p.field(y.max(below_photo), "有效期限", VALUE, &card.validity, RIGHT);

    // The codes, on white with their quiet zones, sized from the QR matrix itself.
    let codes_height = FRONT_HEIGHT - CODES_TOP;
    // However far the values wrapped, the codes stay whole on the canvas.
    let top = ((y - ROW + 48.0) as u32)
        .max(CODES_TOP)
        .min(p.img.height() - codes_height);
    p.rule(top);
    canvas::qr_code(&mut p.img, &qr, ((WIDTH - QR_SIDE) / 2, top + 16), QR_SIDE);
    let bars = top + 16 + QR_SIDE + 20;
    let bars_box = Rect::new(INSET, bars, WIDTH - 2 * INSET, BARS_HEIGHT);
    canvas::barcode(&mut p.img, &barcode, bars_box);
    let digits_y = (bars + BARS_HEIGHT + 44) as f32;
    p.centred(digits_y, VALUE.sized(30.0), &grouped(&card.barcode));
    let at = crate::clock::china_time(card.generated_at);
    let at = at.format("%Y-%m-%d %H:%M:%S").to_string();
    p.centred_pair(digits_y + 56.0, "生成时间", &at);
    p.finish(top + codes_height)
}

/// The secondary page, `WIDTH` wide and as tall as its classes need.
pub fn render_secondary(card: &SecondaryCard) -> Result<Vec<u8>, RenderError> {
    let max_height = max_secondary_height(card.classes.len());
    let mut p = Page::new(
        max_height,
        "中华人民共和国机动车驾驶证副页",
        "Driving Licence of the People's Republic of China · Secondary Page",
    )?;
    let mut y = p.field(FIELDS_TOP, "证号", VALUE, &card.licence_number, RIGHT);
    y = p.field(y, "姓名", VALUE.bold(), &card.name, RIGHT);
    y = p.field(y, "住址", VALUE, &card.address, RIGHT);
    y = p.field(y, "发证机关", VALUE, &card.issuing_authority, RIGHT);
    let states = if card.states.is_empty() {
        "正常".to_owned()
    } else {
        card.states.join("、")
    };
    y = p.field(y, "状态", VALUE, &states, RIGHT);
    let points = format!("{} 分（满分 {} 分）", card.points, card.points_limit);
    y = p.field(y, "累积记分", VALUE.bold(), &points, RIGHT);
    let cycle = format!("{} 至 {}", card.cycle_start, card.cycle_end);
    y = p.field(y, "记分周期", VALUE, &cycle, RIGHT);
    y = p.driving_record(y, &card.record);
    for (label, due) in [
        ("体检截止日期", card.medical_due),
        ("审验截止日期", card.review_due),
    ] {
        if let Some(d) = due {
            y = p.field(y, label, VALUE, &d.to_string(), RIGHT);
        }
    }

    p.rule((y - 24.0) as u32);
    y += 40.0;
    p.text(
        INSET as f32,
        y,
        Style::new(30.0, INK).bold(),
        "准驾车型代号规定",
    );
    y += 72.0;
    for class in &card.classes {
        let badge = Rect::new(INSET, (y - 38.0) as u32, 96, 52);
        canvas::fill(&mut p.img, badge, HEADER);
        let code = Style::new(30.0, WHITE).bold();
        let w = text::width(p.font, code.size, &class.code);
        p.text(INSET as f32 + (96.0 - w) / 2.0, y, code, &class.code);
        y = p.value((180.0, y), VALUE.sized(30.0), &class.name, RIGHT) - 12.0;
        if !class.also_covers.is_empty() {
            let covers = format!("准予驾驶的其他准驾车型：{}", class.also_covers.join("、"));
            y = p.value((180.0, y), LABEL, &covers, RIGHT) - 12.0;
        }
        y += 24.0;
    }
    p.finish(y as u32 + MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::Font;
    use image::GenericImageView;

    const CODE: &str = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJlbGljZW5jZSJ9.c2lnbmF0dXJl";

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn front(name: &str, photo: Option<Vec<u8>>) -> FrontCard {
        FrontCard {
            licence_number: "110101199001010111".into(),
            name: name.into(),
            sex: "男".into(),
            nationality: "中国".into(),
            birth_date: date("1990-01-01"),
            first_issued: date("2015-03-05"),
            classes: vec!["C1".into(), "D".into()],
            validity: "2021-03-05 至 2031-03-05".into(),
            photo,
            code: CODE.into(),
            barcode: "46233088725433696927".into(),
            generated_at: "2026-11-22T04:00:00Z".parse().unwrap(),
        }
    }

    fn png_of(img: &RgbImage) -> Vec<u8> {
        png_from_rgb(img).unwrap()
    }

    fn decode(png: &[u8]) -> RgbImage {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap();
        img.to_rgb8()
    }

    /// Pixels in `r` darker than mid-grey.
    fn ink(img: &RgbImage, r: Rect) -> usize {
        let view = img.view(r.x, r.y, r.w, r.h);
        view.pixels().filter(|(_, _, p)| p.0[0] < 128).count()
    }

    #[test]
    fn the_front_is_a_png_of_the_card_size_with_the_photo() {
        let red = RgbImage::from_pixel(220, 320, Rgb([200, 30, 30]));
        let png = render_front(&front("张伟", Some(png_of(&red)))).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), (WIDTH, FRONT_HEIGHT));
        let centre = img.get_pixel(PHOTO_BOX.x + 130, PHOTO_BOX.y + 182);
        assert_eq!(centre.0, [200, 30, 30], "the photo fills its box");
        assert_eq!(img.get_pixel(5, 5).0, PAGE.0, "the page around the card");
    }

    #[test]
    fn a_photo_of_any_shape_fills_its_box() {
        for (w, h) in [(4000, 1), (1, 4000), (3, 3), (600, 800)] {
            let photo = RgbImage::from_pixel(w, h, Rgb([30, 90, 200]));
            let img = decode(&render_front(&front("张伟", Some(png_of(&photo)))).unwrap());
            for (x, y) in [(1, 1), (130, 182), (258, 362)] {
                let p = img.get_pixel(PHOTO_BOX.x + x, PHOTO_BOX.y + y);
                assert_eq!(p.0, [30, 90, 200], "{w}x{h} at {x},{y}");
            }
        }
    }

    #[test]
    fn names_of_every_kind_render_within_the_name_row() {
        let f = text::font().unwrap();
        for name in [
            "张伟",
            "欧阳海峰",
            "司马相如",
            "ALEXANDER PETROV",
            "王堃",
            "龑",
            "施安娜",
        ] {
            assert!(
                name.chars().all(|c| f.glyph_id(c).0 != 0),
                "{name} is in the bundled font"
            );
            let img = decode(&render_front(&front(name, None)).unwrap());
            let row = Rect::new(VALUE_X as u32, 280, PHOTO_BOX.x - 24 - VALUE_X as u32, 60);
            assert!(ink(&img, row) > 100, "{name} is drawn");
            let gap = Rect::new(PHOTO_BOX.x - 22, 280, 18, 60);
            assert_eq!(ink(&img, gap), 0, "{name} stays clear of the photo");
        }
    }

    #[test]
    fn a_name_too_long_for_one_line_wraps_and_pushes_the_codes_down() {
        let mut card = front("ALEXANDER SERGEYEVICH PETROV-VODKIN", None);
        let short = decode(&render_front(&card).unwrap());
        card.licence_number = "X".repeat(32);
        let longer = decode(&render_front(&card).unwrap());
        assert!(short.height() > FRONT_HEIGHT && longer.height() > short.height());
        assert_eq!(short.width(), WIDTH);
    }

    #[test]
    fn a_long_latin_name_shrinks_then_wraps_and_missing_characters_show_as_boxes() {
        let f = text::font().unwrap();
        let max = 420.0;
        let name = "ALEXANDER SERGEYEVICH PETROV-VODKIN";
        let lines = text::wrap(f, name, 28.0, max, 3);
        assert_eq!(lines, ["ALEXANDER SERGEYEVICH", "PETROV-VODKIN"]);
        assert!(lines.iter().all(|l| text::width(f, 28.0, l) <= max));
        let cut = text::wrap(f, &"很长的名字".repeat(20), 28.0, max, 2);
        assert!(cut.len() == 2 && cut[1].ends_with('…'));

        // 𠮷 (U+20BB7) is outside the subset: the .notdef box is drawn, nothing panics.
        assert_eq!(f.glyph_id('𠮷').0, 0);
        let mut img = RgbImage::from_pixel(200, 80, WHITE);
        let style = Style::new(40.0, Rgb([0, 0, 0]));
        let w = text::draw(&mut img, f, (10.0, 60.0), style, "𠮷\u{7}");
        assert!(w > 30.0 && ink(&img, Rect::new(0, 0, 200, 80)) > 50);
        render_front(&front("𠮷\u{0}\u{200b}", None)).unwrap();
    }

    #[test]
    fn a_bad_or_oversized_photo_gets_the_placeholder() {
        let wide = image::GrayImage::from_pixel(PHOTO_MAX_TEST, 1, image::Luma([0]));
        let mut wide_png = std::io::Cursor::new(Vec::new());
        wide.write_to(&mut wide_png, image::ImageFormat::Png)
            .unwrap();
        let truncated = png_of(&RgbImage::from_pixel(50, 50, Rgb([0, 0, 0])))[..60].to_vec();
        for photo in [
            Some(b"not a photo".to_vec()),
            Some(b"\xff\xd8\xff\xe0 broken jpeg".to_vec()),
            Some(truncated),
            Some(wide_png.into_inner()),
            Some(Vec::new()),
            None,
        ] {
            let img = decode(&render_front(&front("张伟", photo)).unwrap());
            let corner = img.get_pixel(PHOTO_BOX.x + 10, PHOTO_BOX.y + 10);
            assert_eq!(corner.0, PLACEHOLDER.0);
            assert!(ink(&img, PHOTO_BOX) > 50, "the placeholder says why");
        }
    }

    const PHOTO_MAX_TEST: u32 = canvas::PHOTO_MAX_SIDE + 1;

    /// The codes read back from the card with an independent decoder, whatever the QR version.
    #[test]
    fn the_codes_on_the_card_read_back() {
        let long = format!("{CODE}{}", "x".repeat(600));
        for code in [CODE, long.as_str()] {
            let mut card = front("张伟", None);
            card.code = code.to_owned();
            let png = render_front(&card).unwrap();
            let read = |format| crate::offline::scan::read_symbol(&png, format).unwrap();
            assert_eq!(read(rxing::BarcodeFormat::QR_CODE), code);
            assert_eq!(read(rxing::BarcodeFormat::CODE_128), card.barcode);
        }
    }

    fn secondary(classes: &[(&str, &str, &[&str])]) -> SecondaryCard {
        SecondaryCard {
            licence_number: "440305197504021350".into(),
            name: "王建国".into(),
            address: "深圳市南山区桃园路138号南油小区8栋502房，这一段很长的地址要折成两行才能放下"
                .into(),
            issuing_authority: "深圳市公安局交通警察支队".into(),
            states: vec![],
            points: 3,
            points_limit: 12,
            cycle_start: date("2026-07-15"),
            cycle_end: date("2027-07-14"),
            record: vec![],
            medical_due: Some(date("2027-07-15")),
            review_due: None,
            classes: classes
                .iter()
                .map(|(code, name, covers)| ClassLine {
                    code: (*code).into(),
                    name: (*name).into(),
                    also_covers: covers.iter().map(|c| (*c).into()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_secondary_page_grows_with_its_classes_and_keys_by_content() {
        let one = secondary(&[("C1", "小型汽车", &["C2", "C3"])]);
        let two = secondary(&[
            (
                "A1",
                "大型客车",
                &["A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"],
            ),
            ("D", "普通三轮摩托车", &["E", "F"]),
        ]);
        let (a, b) = (
            decode(&render_secondary(&one).unwrap()),
            decode(&render_secondary(&two).unwrap()),
        );
        assert_eq!(a.width(), WIDTH);
        assert!(a.height() > 900 && b.height() > a.height());
        assert_eq!(
            a.get_pixel(5, a.height() - 5).0,
            PAGE.0,
            "framed to the end"
        );

        let mut more_points = one.clone();
        more_points.points = 6;
        assert_eq!(one.cache_key(), one.clone().cache_key());
        assert_ne!(one.cache_key(), more_points.cache_key());
    }

    fn with_record(card: &SecondaryCard, entries: usize) -> SecondaryCard {
        let mut card = card.clone();
        card.record = (0..entries)
            .map(|i| RecordLine {
                date: date("2026-09-15") - chrono::Days::new(i as u64),
                text: format!("记分变更：本记分周期累计 {} 分（满分 12 分）", 9 - i % 9),
            })
            .collect();
        card
    }

    #[test]
    fn the_driving_record_is_drawn_under_the_points_a_few_lines_at_most() {
        let none = secondary(&[("C1", "小型汽车", &["C2", "C3"])]);
        let height = |card: &SecondaryCard| decode(&render_secondary(card).unwrap()).height();
        let heights: Vec<u32> = [0, 1, 2, RECORD_LINES, RECORD_LINES + 1, 10]
            .iter()
            .map(|n| height(&with_record(&none, *n)))
            .collect();
        // Each entry adds a row up to RECORD_LINES; beyond, one line counts the rest.
        assert!(
            heights.windows(2).take(3).all(|w| w[1] > w[0]),
            "{heights:?}"
        );
        assert_eq!(heights[2] - heights[1], RECORD_ROW as u32);
        assert_eq!(heights[4] - heights[3], RECORD_ROW as u32);
        assert_eq!(heights[5], heights[4], "{heights:?}");
        assert!(heights[5] < max_secondary_height(1), "nothing is cut off");
        // The entries are drawn: ink in the record's rows, in the date column and beside it.
        let img = decode(&render_secondary(&with_record(&none, 2)).unwrap());
        let blank = decode(&render_secondary(&none).unwrap());
        let below_cycle = Rect::new(INSET, 700, WIDTH - 2 * INSET, 300);
        assert!(ink(&img, below_cycle) > ink(&blank, below_cycle) + 500);
        assert_ne!(
            with_record(&none, 2).cache_key(),
            with_record(&none, 3).cache_key()
        );
    }
}
