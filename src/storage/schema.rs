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
        photo_prepared -> Nullable<Text>,
        photo_checks_failed -> Nullable<Text>,
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
        scope -> Nullable<Text>,
    }
}

diesel::table! {
    e_licences (id) {
        id -> Text,
        licence_number -> Text,
        state -> Text,
        photo_source -> Text,
        photo_media_type -> Text,
        photo_sha256 -> Text,
        generated_at -> Timestamp,
        superseded_at -> Nullable<Timestamp>,
        serial -> BigInt,
        superseded_reason -> Nullable<Text>,
        issued_via -> Text,
        issued_by -> Nullable<Text>,
        status_list -> Integer,
        status_index -> Integer,
        list_status -> SmallInt,
        list_status_recheck_on -> Nullable<Date>,
    }
}

diesel::table! {
    status_lists (list_id) {
        list_id -> Integer,
        allocated -> Integer,
        content_version -> BigInt,
        changed_at -> Timestamp,
        signed_version -> BigInt,
        signings -> BigInt,
        token -> Nullable<Text>,
        etag -> Nullable<Text>,
        kid -> Nullable<Text>,
        signed_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        entries_invalid -> Integer,
        entries_suspended -> Integer,
    }
}

diesel::table! {
    barcode_tokens (token) {
        token -> Text,
        e_licence_id -> Text,
        code -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        jti -> Nullable<Text>,
        purpose -> Text,
    }
}

diesel::table! {
    verification_audit (id) {
        id -> BigInt,
        verified_at -> Timestamp,
        officer_token_id -> Text,
        terminal_label -> Nullable<Text>,
        method -> Text,
        e_licence_id -> Nullable<Text>,
        valid -> Bool,
        reasons -> Text,
        jti -> Nullable<Text>,
    }
}

diesel::table! {
    /// SQLite only, in the attached file `audit_index`: the audit's lookups by officer and by
    /// e-licence, filled in bulk (`storage::audit_index`). PostgreSQL indexes the audit itself.
    audit_index.verification_audit_lookup (kind, subject, audit_id) {
        kind -> Text,
        subject -> Text,
        audit_id -> BigInt,
    }
}

diesel::table! {
    /// SQLite only, in the attached file `audit_index`: the last audit id that
    /// `verification_audit_lookup` has, and what that row was, to know the file belongs to
    /// this database (`storage::audit_index`).
    audit_index.verification_audit_indexed (id) {
        id -> Integer,
        up_to -> BigInt,
        up_to_row -> Nullable<Text>,
    }
}

diesel::table! {
    photo_store (sha256) {
        sha256 -> Text,
        media_type -> Text,
        bytes -> Binary,
        stored_at -> Timestamp,
    }
}

diesel::table! {
    photo_submissions (id) {
        id -> Text,
        licence_number -> Text,
        purpose -> Text,
        source -> Text,
        state -> Text,
        photo_sha256 -> Text,
        prechecks -> Text,
        submitted_at -> Timestamp,
        deadline -> Timestamp,
        claimed_by -> Nullable<Text>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        decision_note -> Nullable<Text>,
        e_licence_id -> Nullable<Text>,
    }
}

diesel::table! {
    review_audit (id) {
        id -> BigInt,
        at -> Timestamp,
        reviewer_token_id -> Text,
        submission_id -> Text,
        action -> Text,
        reason -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        licence_number -> Text,
        kind -> Text,
        payload -> Text,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> licences (licence_number));
diesel::joinable!(e_licences -> licences (licence_number));
diesel::joinable!(registry_events -> licences (licence_number));
diesel::allow_tables_to_appear_in_same_query!(
    licences,
    api_tokens,
    e_licences,
    barcode_tokens,
    verification_audit,
    verification_audit_lookup,
    verification_audit_indexed,
    photo_store,
    photo_submissions,
    review_audit,
    notifications,
    registry_events,
    counter_audit,
    status_lists,
    signing_keys
);

diesel::table! {
    registry_events (id) {
        id -> BigInt,
        licence_number -> Text,
        kind -> Text,
        detail -> Text,
        source -> Text,
        actor -> Nullable<Text>,
        superseded_e_licence -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    counter_audit (id) {
        id -> BigInt,
        at -> Timestamp,
        clerk_token_id -> Text,
        authority -> Text,
        action -> Text,
        licence_number -> Text,
        outcome -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        state -> Text,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        rotated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}
