/**
 * Kibana: capline's data views and dashboards as typed definitions, the NDJSON generated from
 * them (kibana/objects/capline.ndjson), an offline validator against the Elasticsearch mappings,
 * and an importer for a running Kibana. See docs/kibana.md.
 */
export { registerKibana } from "./cli.ts";
export { DEFAULT_PREFIX, generateObjects, OBJECTS_FILE, toNdjson } from "./generate.ts";
export { type ImportOptions, type ImportResult, importSavedObjects, waitForKibana } from "./import.ts";
export { formatProblem, type Problem, type ValidationReport, validateNdjson } from "./validate.ts";
