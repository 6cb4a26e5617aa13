/**
 * Which functions user SQL may call. An allowlist, not a denylist: PostgreSQL has
 * thousands of built-in functions and extensions add more, so anything not named here is
 * refused. The names are bare (`pg_catalog.sum` is checked as `sum`); the guard refuses
 * every other schema, so a user-defined `public.sum` cannot slip in by qualification.
 *
 * The denied families below are not needed for the check itself (they are simply absent
 * from the allowlist); they give the refusal a reason a person can act on, and a test
 * asserts that no allowlisted name falls into one of them.
 */

/** Aggregates, ordered-set and hypothetical-set aggregates. */
const AGGREGATES = [
  "count", "sum", "avg", "min", "max", "any_value",
  "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
  "bool_and", "bool_or", "every", "bit_and", "bit_or", "bit_xor",
  "string_agg", "array_agg",
  "json_agg", "jsonb_agg", "json_agg_strict", "jsonb_agg_strict",
  "json_object_agg", "jsonb_object_agg", "json_object_agg_strict", "jsonb_object_agg_strict",
  "json_object_agg_unique", "jsonb_object_agg_unique", "json_object_agg_unique_strict", "jsonb_object_agg_unique_strict",
  "corr", "covar_pop", "covar_samp",
  "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
  "percentile_cont", "percentile_disc", "mode",
  "range_agg", "range_intersect_agg",
];

/** Window functions (rank & co. double as hypothetical-set aggregates). */
const WINDOW = [
  "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
  "lag", "lead", "first_value", "last_value", "nth_value",
];

/**
 * Math. `setseed` is left out on purpose: it changes session state, and a query should
 * not influence the next one on a pooled connection.
 */
const MATH = [
  "abs", "cbrt", "ceil", "ceiling", "degrees", "div", "exp", "factorial", "floor", "gcd", "lcm",
  "ln", "log", "log10", "min_scale", "mod", "pi", "power", "pow", "radians", "round", "scale",
  "sign", "sqrt", "trim_scale", "trunc", "width_bucket", "random", "random_normal",
  "acos", "acosd", "asin", "asind", "atan", "atand", "atan2", "atan2d", "cos", "cosd", "cot", "cotd",
  "sin", "sind", "tan", "tand", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
  "erf", "erfc", "gamma", "lgamma",
];

/** Strings, pattern matching, hashing and formatting. */
const STRING = [
  "ascii", "btrim", "bit_length", "char_length", "character_length", "chr", "concat", "concat_ws",
  "format", "initcap", "left", "length", "lower", "lpad", "ltrim", "md5", "octet_length", "overlay",
  "position", "quote_ident", "quote_literal", "quote_nullable",
  "regexp_count", "regexp_instr", "regexp_like", "regexp_match", "regexp_matches", "regexp_replace",
  "regexp_split_to_array", "regexp_split_to_table", "regexp_substr",
  "repeat", "replace", "reverse", "right", "rpad", "rtrim", "split_part", "starts_with", "strpos",
  "substr", "substring", "to_hex", "translate", "upper", "unistr", "casefold", "normalize", "is_normalized",
  "string_to_array", "string_to_table", "array_to_string",
  "sha224", "sha256", "sha384", "sha512", "encode", "decode", "crc32", "crc32c",
  // The parser rewrites `x SIMILAR TO y` into a call of one of these.
  "similar_to_escape", "similar_escape",
  "to_char", "to_number", "to_date", "to_timestamp",
  "gen_random_uuid", "uuidv4", "uuidv7",
];

/**
 * Date and time. `timezone` is what `AT TIME ZONE` becomes; `overlaps` is `(a, b)
 * OVERLAPS (c, d)`. `pg_sleep*` is the obvious absentee.
 */
const DATE_TIME = [
  "age", "clock_timestamp", "date_add", "date_subtract", "date_bin", "date_part", "date_trunc",
  "extract", "isfinite", "justify_days", "justify_hours", "justify_interval",
  "make_date", "make_interval", "make_time", "make_timestamp", "make_timestamptz",
  "now", "statement_timestamp", "timeofday", "transaction_timestamp", "timezone", "overlaps",
];

/** Conditional helpers that are plain functions (COALESCE, NULLIF, GREATEST, LEAST are syntax). */
const CONDITIONAL = ["num_nulls", "num_nonnulls"];

/** Function-style casts such as `numeric(x)` or `date(ts)`. */
const CASTS = [
  "text", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "numeric",
  "int2", "int4", "int8", "float4", "float8", "bool", "varchar", "bpchar", "char", "uuid",
];

/** JSON accessors, builders and json_path queries: pure functions over their arguments. */
const JSON = [
  "to_json", "to_jsonb", "row_to_json", "array_to_json",
  "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array", "json_object", "jsonb_object",
  "json_extract_path", "json_extract_path_text", "jsonb_extract_path", "jsonb_extract_path_text",
  "json_array_length", "jsonb_array_length", "json_typeof", "jsonb_typeof",
  "json_array_elements", "json_array_elements_text", "jsonb_array_elements", "jsonb_array_elements_text",
  "json_each", "json_each_text", "jsonb_each", "jsonb_each_text", "json_object_keys", "jsonb_object_keys",
  "json_to_record", "json_to_recordset", "jsonb_to_record", "jsonb_to_recordset",
  "json_strip_nulls", "jsonb_strip_nulls", "jsonb_pretty", "jsonb_set", "jsonb_set_lax", "jsonb_insert",
  "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
];

/** Arrays, ranges and set-returning helpers (generate_series is capped by the executor's timeout). */
const ARRAYS_RANGES = [
  "array_length", "array_lower", "array_upper", "array_ndims", "array_dims", "array_position", "array_positions",
  "array_append", "array_prepend", "array_cat", "array_remove", "array_replace", "array_fill", "array_reverse",
  "array_sort", "array_sample", "array_shuffle", "trim_array", "cardinality", "unnest",
  "generate_series", "generate_subscripts",
  "lower", "upper", "isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf", "range_merge",
  "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange",
];

/** Full-text search over the caller's own columns. */
const TEXT_SEARCH = [
  "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery",
  "ts_rank", "ts_rank_cd", "ts_headline",
];

export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  ...AGGREGATES, ...WINDOW, ...MATH, ...STRING, ...DATE_TIME, ...CONDITIONAL, ...CASTS, ...JSON,
  ...ARRAYS_RANGES, ...TEXT_SEARCH,
]);

/**
 * Families refused with a named reason. Order matters only for the message: the first
 * matching family explains the refusal.
 */
export const DENIED_FUNCTION_FAMILIES: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  // Superuser-only in stock PostgreSQL, but a data source may connect as a privileged role.
  { pattern: /^pg_(read_file|read_binary_file|ls_\w+|stat_file)$/, why: "it reads the server's files" },
  // lo_import/lo_export move files between server disk and the database; lo_* writes.
  { pattern: /^(lo_\w+|loread|lowrite)$/, why: "large-object functions read and write server files" },
  { pattern: /^(dblink\w*|postgres_fdw\w*)$/, why: "it connects to other databases" },
  { pattern: /^pg_sleep\w*$/, why: "it sleeps, which ties up a connection (denial of service)" },
  { pattern: /^(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile\w*|pg_promote|pg_log_backend_memory_contexts)$/, why: "it acts on other server processes" },
  { pattern: /^pg_advisory\w*|^pg_try_advisory\w*$/, why: "advisory locks outlive the query and block other sessions" },
  // set_config writes settings (e.g. statement_timeout) the executor relies on; current_setting leaks configuration.
  { pattern: /^(set_config|current_setting|pg_settings_get_flags)$/, why: "it reads or changes server configuration" },
  { pattern: /^(query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*|schema_to_xml\w*|database_to_xml\w*|query_to_xmlschema|table_to_xmlschema|cursor_to_xmlschema)$/, why: "it runs a query or reads a table given as text, bypassing the table check" },
  { pattern: /^(nextval|setval|currval|lastval)$/, why: "sequence functions change or reveal sequence state" },
  { pattern: /^(pg_notify)$/, why: "it sends notifications to other sessions" },
  { pattern: /^(txid_\w+|pg_current_xact\w*|pg_xact\w*|pg_snapshot\w*|pg_current_snapshot|pg_visible_in_snapshot)$/, why: "it exposes transaction internals" },
  { pattern: /^(version|inet_server_addr|inet_server_port|inet_client_addr|inet_client_port|pg_backend_pid|pg_postmaster_start_time|pg_conf_load_time|current_database|current_schema|current_schemas|current_user|session_user|system_user|current_role|current_query)$/, why: "it reveals details of the server or session" },
  { pattern: /^(has_\w+_privilege|pg_has_role|row_security_active)$/, why: "it probes privileges on objects outside the query" },
  { pattern: /^(pg_stat_\w+|pg_stat\w*|pg_\w*size\w*|pg_relation_\w+|pg_table_is_visible|pg_get_\w+|pg_describe_object|pg_identify_object\w*|to_regclass|to_regproc\w*|to_regtype\w*|to_regnamespace|to_regrole|to_regoper\w*|to_regcollation|obj_description|col_description|shobj_description)$/, why: "it reads the system catalogs; use the schema endpoints instead" },
  { pattern: /^(pg_\w+)$/, why: "server administration and catalog functions (pg_*) are not available to queries" },
  { pattern: /^(setseed)$/, why: "it changes session state" },
  { pattern: /^(xml\w*|xpath\w*)$/, why: "XML processing is not available to queries" },
];

/** Why `name` is refused, or null when it is allowed. */
export function functionRefusal(name: string): string | null {
  if (ALLOWED_FUNCTIONS.has(name)) return null;
  for (const family of DENIED_FUNCTION_FAMILIES) {
    if (family.pattern.test(name)) return family.why;
  }
  return "it is not in the allowlist of analytical functions";
}
