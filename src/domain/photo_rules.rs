//! The photo requirements of an e-licence (电子照片要求) as reasons a reviewer rejects a photo
//! with. Each has a stable code (what the holder's app and the SMS gateway get) and the
//! message the holder reads. Automatic pre-checks use the same codes where they overlap.

use strum::{EnumCount, VariantArray};

super::code_enum! {
    #[derive(utoipa::ToSchema, strum::EnumCount)]
    #[strum(parse_err_ty = String, parse_err_fn = unknown_reject_reason)]
    pub enum RejectReason {
        /// Not taken within the last 6 months.
        NotRecent,
        /// Not frontal, or not looking at the camera.
        NotFrontal,
        /// Hat, scarf or anything else on the head.
        HeadCovered,
        /// Black-and-white.
        NotColour,
        /// Head too large or too small, or not half-length (小一寸 proportions).
        WrongFraming,
        BackgroundNotWhite,
        /// Too dark, too bright or uneven light.
        PoorLighting,
        /// Eyes closed, unnatural expression, shoulders not level.
        PoorPose,
        /// Sunglasses, mask, jewellery.
        Accessories,
        /// Hair covering the face or ears.
        FaceObscured,
        /// Light clothing, uniform, or heavy make-up.
        Attire,
        /// Retouched features or a composite.
        Retouched,
        /// More than one person, or no person.
        NotOnePerson,
        /// Offensive or unlawful content: the e-licence may be stopped.
        Unlawful,
        /// Blurred or too small to judge.
        Unclear,
    }
}

impl RejectReason {
    pub const ALL: [RejectReason; RejectReason::COUNT] = super::variants(Self::VARIANTS);

    pub fn message_zh(self) -> &'static str {
        match self {
            RejectReason::NotRecent => "照片不是近 6 个月内拍摄的",
            RejectReason::NotFrontal => "须正面免冠、目视镜头",
            RejectReason::HeadCovered => "不得戴帽子、头巾等遮挡头部",
            RejectReason::NotColour => "须为彩色照片",
            RejectReason::WrongFraming => "头部大小或半身比例不符合小一寸照片要求",
            RejectReason::BackgroundNotWhite => "背景须为白色",
            RejectReason::PoorLighting => "光线须均匀，不得过暗或过亮",
            RejectReason::PoorPose => "须双肩水平、表情自然、双眼睁开",
            RejectReason::Accessories => "不得佩戴墨镜、口罩、饰品",
            RejectReason::FaceObscured => "头发不得遮挡面部或耳朵",
            RejectReason::Attire => "须着深色服装，不得着制式服装或浓妆",
            RejectReason::Retouched => "不得修饰五官或合成照片",
            RejectReason::NotOnePerson => "照片中须且仅有本人一人",
            RejectReason::Unlawful => "照片内容违法或不良，电子驾驶证申领将被停止",
            RejectReason::Unclear => "照片模糊或过小，无法审核",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            RejectReason::NotRecent => "the photo was not taken within the last 6 months",
            RejectReason::NotFrontal => "face the camera, bare-headed, looking into the lens",
            RejectReason::HeadCovered => "no hat, scarf or other head covering",
            RejectReason::NotColour => "the photo must be in colour",
            RejectReason::WrongFraming => {
                "head size or half-length framing does not match the 22x32 mm format"
            }
            RejectReason::BackgroundNotWhite => "the background must be white",
            RejectReason::PoorLighting => "the light must be even, neither too dark nor too bright",
            RejectReason::PoorPose => "shoulders level, natural expression, eyes open",
            RejectReason::Accessories => "no sunglasses, mask or jewellery",
            RejectReason::FaceObscured => "hair must not cover the face or ears",
            RejectReason::Attire => "dark clothing, no uniform, no heavy make-up",
            RejectReason::Retouched => "no retouched features and no composite photos",
            RejectReason::NotOnePerson => "the photo must show you alone",
            RejectReason::Unlawful => "offensive or unlawful content: the application is stopped",
            RejectReason::Unclear => "the photo is blurred or too small to judge",
        }
    }

    pub fn message(self, lang: crate::i18n::Lang) -> &'static str {
        lang.pick(self.message_zh(), self.message_en())
    }
}

fn unknown_reject_reason(s: &str) -> String {
    format!("unknown rejection reason {s:?}")
}

/// The message for an automatic pre-check that failed (`crate::photo` gives the codes).
pub fn precheck_message(code: &str, lang: crate::i18n::Lang) -> &'static str {
    let (zh, en) = match code {
        "too_small" => (
            "照片尺寸过小，请使用更清晰的照片",
            "the photo is too small: use a sharper one",
        ),
        "wrong_proportions" => (
            "照片比例不符合要求（宽:高 约 22:32）",
            "the photo's proportions are wrong (width:height about 22:32)",
        ),
        "background_not_white" => ("背景须为白色", "the background must be white"),
        "too_dark" => ("照片过暗", "the photo is too dark"),
        "uneven_lighting" => ("光线不均匀", "the lighting is uneven"),
        "not_colour" => ("须为彩色照片", "the photo must be in colour"),
        "unreadable" => ("照片无法读取", "the photo cannot be read"),
        _ => ("照片未通过自动检测", "the photo fails an automatic check"),
    };
    lang.pick(zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_through_its_code() {
        let mut codes = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            assert_eq!(r.code().parse::<RejectReason>(), Ok(r));
            assert!(codes.insert(r.code()), "duplicate code {}", r.code());
            assert!(!r.message_zh().is_empty() && !r.message_en().is_empty());
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
        assert!("blurry".parse::<RejectReason>().is_err());
        use crate::i18n::Lang;
        for code in [
            "too_small",
            "wrong_proportions",
            "background_not_white",
            "too_dark",
            "uneven_lighting",
            "not_colour",
            "unreadable",
        ] {
            assert_ne!(
                precheck_message(code, Lang::En),
                precheck_message("?", Lang::En),
                "{code} has its own message"
            );
        }
        assert!("".parse::<RejectReason>().is_err());
    }
}
