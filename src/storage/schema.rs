//! One schema for both backends; the per-backend SQL lives in `migrations/`.

diesel::table! {
    licences (number) {
        number -> Text,
        name -> Text,
        sex -> Text,
        nationality -> Text,
        birth_date -> Date,
        address -> Text,
        issuing_authority -> Text,
        classes -> Text,
        first_issued -> Date,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        statuses -> Text,
        points -> Integer,
        points_cycle_start -> Date,
        medical_due -> Nullable<Date>,
        review_due -> Nullable<Date>,
        photo -> Nullable<Binary>,
        photo_media_type -> Nullable<Text>,
        photo_taken -> Nullable<Date>,
        synced_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        token_hash -> Text,
        role -> Text,
        licence_number -> Nullable<Text>,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> licences (licence_number));
diesel::allow_tables_to_appear_in_same_query!(licences, api_tokens);
