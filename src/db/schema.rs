//! The tables, described once for both backends with portable types only
//! (BigInt, Text, Bool, Timestamp in UTC, Date).

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    codes (dimension, code) {
        dimension -> Text,
        code -> Text,
        label_sv -> Text,
        label_en -> Text,
        parent_code -> Nullable<Text>,
        sort_order -> BigInt,
    }
}

diesel::table! {
    indicators (code) {
        code -> Text,
        name_sv -> Text,
        name_en -> Text,
        unit -> Text,
        level -> Text,
        aggregation -> Text,
        numerator -> Nullable<Text>,
        denominator -> Nullable<Text>,
        by_sex -> Bool,
        decimals -> BigInt,
        derived_from -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    indicator_requirements (effektkedja, indicator) {
        effektkedja -> Text,
        indicator -> Text,
    }
}

diesel::table! {
    periods (id) {
        id -> Text,
        kind -> Text,
        start_date -> Date,
        end_date -> Date,
        deadline -> Date,
        lock_mode -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    period_lock_exceptions (period_id, region) {
        period_id -> Text,
        region -> Text,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    submissions (id) {
        id -> Text,
        region -> Text,
        subject -> Text,
        idempotency_key -> Nullable<Text>,
        request_sha256 -> Text,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        region -> Text,
        #[sql_name = "ref"]
        ref_ -> Text,
        title -> Text,
        organisation -> Text,
        status -> Text,
        project_type -> Text,
        sakomrade -> Text,
        fokusomrade -> Nullable<Text>,
        effektkedja -> Text,
        start_date -> Date,
        end_date -> Date,
        granted_sek -> BigInt,
        total_budget_sek -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    project_codes (project_id, dimension, code) {
        project_id -> BigInt,
        dimension -> Text,
        code -> Text,
    }
}

diesel::table! {
    project_indicators (project_id, indicator) {
        project_id -> BigInt,
        indicator -> Text,
        baseline -> Nullable<BigInt>,
        baseline_year -> Nullable<BigInt>,
        target -> Nullable<BigInt>,
        goal -> Nullable<Text>,
        source -> Nullable<Text>,
    }
}

diesel::table! {
    indicator_values (project_id, indicator, period) {
        project_id -> BigInt,
        indicator -> Text,
        period -> Text,
        value -> BigInt,
        kvinnor -> Nullable<BigInt>,
        man -> Nullable<BigInt>,
        ej_angivet -> Nullable<BigInt>,
        comment -> Nullable<Text>,
        updated_at -> Timestamp,
        updated_by -> Text,
        submission_id -> Nullable<Text>,
    }
}

diesel::table! {
    value_entities (project_id, indicator, period, orgnr) {
        project_id -> BigInt,
        indicator -> Text,
        period -> Text,
        orgnr -> Text,
    }
}

diesel::table! {
    value_revisions (id) {
        id -> BigInt,
        project_id -> BigInt,
        indicator -> Text,
        period -> Text,
        old_value -> Nullable<BigInt>,
        new_value -> BigInt,
        new_kvinnor -> Nullable<BigInt>,
        new_man -> Nullable<BigInt>,
        new_ej_angivet -> Nullable<BigInt>,
        new_entities -> Nullable<Text>,
        comment -> Nullable<Text>,
        changed_at -> Timestamp,
        changed_by -> Text,
        submission_id -> Nullable<Text>,
        version -> BigInt,
    }
}

diesel::table! {
    narratives (project_id, period) {
        project_id -> BigInt,
        period -> Text,
        progress -> Text,
        lessons -> Text,
        deviations -> Text,
        updated_at -> Timestamp,
        updated_by -> Text,
        submission_id -> Nullable<Text>,
    }
}

diesel::table! {
    narrative_revisions (project_id, period, version) {
        project_id -> BigInt,
        period -> Text,
        version -> BigInt,
        progress -> Text,
        lessons -> Text,
        deviations -> Text,
        changed_by -> Text,
    }
}

diesel::table! {
    snapshots (id) {
        id -> Text,
        period -> Text,
        label -> Text,
        as_of -> Timestamp,
        created_at -> Timestamp,
        created_by -> Text,
        sha256 -> Text,
        figures -> Text,
        version -> BigInt,
        published_at -> Nullable<Timestamp>,
        published_by -> Nullable<Text>,
    }
}

diesel::table! {
    data_versions (version) {
        version -> BigInt,
        committed_at -> Timestamp,
    }
}

diesel::table! {
    project_history (project_id, valid_from) {
        project_id -> BigInt,
        valid_from -> BigInt,
        valid_to -> Nullable<BigInt>,
        region -> Text,
        title -> Text,
        organisation -> Text,
        status -> Text,
        project_type -> Text,
        sakomrade -> Text,
        fokusomrade -> Nullable<Text>,
        effektkedja -> Text,
        start_date -> Date,
        end_date -> Date,
        granted_sek -> BigInt,
        total_budget_sek -> BigInt,
        changed_at -> Timestamp,
        changed_by -> Text,
    }
}

diesel::table! {
    project_code_history (project_id, dimension, code, valid_from) {
        project_id -> BigInt,
        dimension -> Text,
        code -> Text,
        valid_from -> BigInt,
        valid_to -> Nullable<BigInt>,
    }
}

diesel::table! {
    project_indicator_history (project_id, indicator, valid_from) {
        project_id -> BigInt,
        indicator -> Text,
        baseline -> Nullable<BigInt>,
        baseline_year -> Nullable<BigInt>,
        target -> Nullable<BigInt>,
        goal -> Nullable<Text>,
        source -> Nullable<Text>,
        valid_from -> BigInt,
        valid_to -> Nullable<BigInt>,
    }
}

diesel::table! {
    indicator_history (code, valid_from) {
        code -> Text,
        name_sv -> Text,
        name_en -> Text,
        unit -> Text,
        level -> Text,
        aggregation -> Text,
        numerator -> Nullable<Text>,
        denominator -> Nullable<Text>,
        by_sex -> Bool,
        decimals -> BigInt,
        derived_from -> Nullable<Text>,
        active -> Bool,
        valid_from -> BigInt,
        valid_to -> Nullable<BigInt>,
    }
}

diesel::table! {
    reports (region, period) {
        region -> Text,
        period -> Text,
        state -> Text,
        revision -> BigInt,
    }
}

diesel::table! {
    report_events (id) {
        id -> BigInt,
        region -> Text,
        period -> Text,
        from_state -> Text,
        to_state -> Text,
        subject -> Text,
        role -> Text,
        comment -> Nullable<Text>,
        missing -> Nullable<Text>,
        version -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (region, caller, idempotency_key) {
        region -> Text,
        caller -> Text,
        idempotency_key -> Text,
        submission_id -> Text,
    }
}

diesel::table! {
    changes (version, seq) {
        version -> BigInt,
        seq -> BigInt,
        kind -> Text,
        action -> Text,
        region -> Nullable<Text>,
        project_ref -> Nullable<Text>,
        indicator -> Nullable<Text>,
        period -> Nullable<Text>,
        item -> Nullable<Text>,
        changed_by -> Text,
    }
}

diesel::joinable!(idempotency_keys -> submissions (submission_id));
diesel::joinable!(project_codes -> projects (project_id));
diesel::joinable!(project_indicators -> projects (project_id));
diesel::table! {
    data_version (id) {
        id -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    sign_ins (state_hash) {
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        issuer -> Text,
        subject -> Text,
        person -> Text,
        role -> Text,
        region -> Nullable<Text>,
        id_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(indicator_values -> projects (project_id));
diesel::joinable!(narratives -> projects (project_id));
diesel::joinable!(value_revisions -> projects (project_id));
diesel::joinable!(projects -> regions (region));
diesel::joinable!(project_history -> projects (project_id));
diesel::joinable!(period_lock_exceptions -> periods (period_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    codes,
    indicators,
    indicator_requirements,
    periods,
    period_lock_exceptions,
    submissions,
    idempotency_keys,
    projects,
    project_codes,
    project_indicators,
    indicator_values,
    value_entities,
    value_revisions,
    narratives,
    narrative_revisions,
    snapshots,
    data_versions,
    project_history,
    project_code_history,
    project_indicator_history,
    indicator_history,
    reports,
    report_events,
    changes,
    sign_ins,
    sessions,
);
