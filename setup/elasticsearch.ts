import { type Client, errors } from "@elastic/elasticsearch";
import type { Config } from "../core/config/index.ts";
import { aliasName, concreteIndexName, indexTemplatePattern } from "../core/names.ts";
import {
  addableFields,
  INDEX_NAMES,
  type IndexName,
  MAPPING_VERSION,
  mappingFor,
} from "../core/schema/indices.ts";
import {
  describeDifference,
  diffMappings,
  type MappingDifference,
  type MappingLike,
} from "./mapping-diff.ts";
import type { SetupItem } from "./report.ts";
import { migrateSalesDocuments } from "./sales-v2.ts";

/**
 * Index templates, indices and aliases of capline. Layout, per index name (`profiles`...):
 *   alias    `<prefix>-profiles`          what every reader and writer uses
 *   index    `<prefix>-profiles-v<N>`     the concrete index, N = MAPPING_VERSION
 *   template `<prefix>-profiles`          pattern `<prefix>-profiles-v*`: a concrete index created
 *                                          by any means gets the settings, mapping and alias
 */

export interface IndexSettings {
  shards: number;
  replicas: number;
  /** `index.refresh_interval`: dynamic, so setup brings existing indices and templates in line. */
  refreshInterval: string;
}

/** The index settings the configuration asks for. */
export function configuredIndexSettings(config: Config): IndexSettings {
  return {
    shards: config.elasticsearch.shards,
    replicas: config.elasticsearch.replicas,
    refreshInterval: config.elasticsearch.refreshInterval,
  };
}

function indexSettings(settings: IndexSettings) {
  return {
    number_of_shards: settings.shards,
    number_of_replicas: settings.replicas,
    refresh_interval: settings.refreshInterval,
  };
}

/** The refresh interval found, when it is not the one wanted (unset counts as different). */
function refreshDifference(settings: FlatSettings | undefined, wanted: IndexSettings): string | undefined {
  const found = settings?.["index.refresh_interval"];
  return String(found) === wanted.refreshInterval ? undefined : String(found ?? "(unset)");
}

/** Above the built-in templates (priority 100 and below), so ours wins for its own names. */
export const TEMPLATE_PRIORITY = 500;

export function templateName(prefix: string, name: IndexName): string {
  return aliasName(prefix, name);
}

export function templateBody(prefix: string, name: IndexName, settings: IndexSettings) {
  return {
    index_patterns: [`${aliasName(prefix, name)}-v*`],
    priority: TEMPLATE_PRIORITY,
    _meta: { managed_by: "capline", mapping_version: MAPPING_VERSION },
    template: {
      settings: indexSettings(settings),
      mappings: mappingFor(name),
      aliases: { [aliasName(prefix, name)]: {} },
    },
  };
}

type FlatSettings = Record<string, unknown>;

/**
 * An index or template that lacks only fields added since it was created (index contract v2,
 * new reject reasons: `addableFields`): the paths to add. Undefined when anything else differs.
 */
function v2Upgrade(name: IndexName, mapping: MappingDifference[]): string[] | undefined {
  const addable = addableFields(name);
  return mapping.length > 0 && mapping.every((d) => d.kind === "missing" && addable.has(d.path))
    ? mapping.map((d) => d.path)
    : undefined;
}

/** What setup added in place: fields of index contract v2, new reject reasons, forget's audit fields. */
function addedDetail(fields: readonly string[]): string {
  return `fields added since the index was made: ${fields.join(", ")}`;
}

function settingDifferences(settings: FlatSettings | undefined, wanted: IndexSettings): string[] {
  const out: string[] = [];
  const shards = settings?.["index.number_of_shards"];
  const replicas = settings?.["index.number_of_replicas"];
  if (String(shards) !== String(wanted.shards))
    out.push(`settings.number_of_shards: expected ${wanted.shards}, found ${shards ?? "(unset)"}`);
  if (String(replicas) !== String(wanted.replicas))
    out.push(`settings.number_of_replicas: expected ${wanted.replicas}, found ${replicas ?? "(unset)"}`);
  return out;
}

async function ensureTemplate(
  es: Client,
  prefix: string,
  name: IndexName,
  settings: IndexSettings,
): Promise<SetupItem> {
  const tname = templateName(prefix, name);
  const body = templateBody(prefix, name, settings);
  const base = { store: "Elasticsearch", kind: "index-template", name: tname } as const;
  let existing: Awaited<ReturnType<Client["indices"]["getIndexTemplate"]>> | undefined;
  try {
    existing = await es.indices.getIndexTemplate({ name: tname, flat_settings: true });
  } catch (error) {
    if (!(error instanceof errors.ResponseError && error.meta.statusCode === 404)) throw error;
  }
  const found = existing?.index_templates.find((t) => t.name === tname)?.index_template;
  if (!found) {
    await es.indices.putIndexTemplate({ name: tname, create: true, ...body });
    return { ...base, status: "created", differences: [], detail: body.index_patterns.join(",") };
  }
  const differences: string[] = [];
  const patterns = [...(Array.isArray(found.index_patterns) ? found.index_patterns : [found.index_patterns])];
  if (patterns.sort().join(",") !== body.index_patterns.join(","))
    differences.push(
      `index_patterns: expected ${body.index_patterns.join(",")}, found ${patterns.join(",")}`,
    );
  if (found.priority !== body.priority)
    differences.push(`priority: expected ${body.priority}, found ${found.priority ?? "(unset)"}`);
  differences.push(...settingDifferences(found.template?.settings as FlatSettings | undefined, settings));
  const mappingDifferences = diffMappings(
    body.template.mappings as MappingLike,
    (found.template?.mappings ?? {}) as MappingLike,
  );
  const upgrade = v2Upgrade(name, mappingDifferences);
  if (upgrade === undefined)
    differences.push(...mappingDifferences.map((d) => `mappings.${describeDifference(d)}`));
  const aliases = Object.keys(found.template?.aliases ?? {}).sort();
  const wantedAliases = Object.keys(body.template.aliases);
  if (aliases.join(",") !== wantedAliases.join(","))
    differences.push(`aliases: expected ${wantedAliases.join(",")}, found ${aliases.join(",") || "(none)"}`);
  if (differences.length) return { ...base, status: "differs", differences };
  if (upgrade !== undefined) {
    await es.indices.putIndexTemplate({ name: tname, ...body });
    return {
      ...base,
      status: "migrated",
      differences,
      detail: addedDetail(upgrade),
    };
  }
  // Only the refresh interval is off (ELASTICSEARCH_REFRESH_INTERVAL changed): a dynamic setting,
  // brought in line rather than reported as a conflict.
  const refresh = refreshDifference(found.template?.settings as FlatSettings | undefined, settings);
  if (refresh === undefined) return { ...base, status: "unchanged", differences };
  await es.indices.putIndexTemplate({ name: tname, ...body });
  return {
    ...base,
    status: "unchanged",
    differences,
    detail: `refresh_interval ${refresh} → ${settings.refreshInterval}`,
  };
}

interface IndexInfo {
  aliases?: Record<string, unknown>;
  mappings?: MappingLike;
  settings?: FlatSettings;
}

/** The indices behind `names` (aliases resolved), with aliases, mappings and flat settings. */
async function getIndices(es: Client, names: string[]): Promise<Record<string, IndexInfo>> {
  return (await es.indices.get({
    index: names.join(","),
    ignore_unavailable: true,
    allow_no_indices: true,
    flat_settings: true,
  })) as unknown as Record<string, IndexInfo>;
}

async function ensureIndex(
  es: Client,
  prefix: string,
  name: IndexName,
  settings: IndexSettings,
): Promise<SetupItem[]> {
  const alias = aliasName(prefix, name);
  const concrete = concreteIndexName(prefix, name);
  const found = await getIndices(es, [alias, concrete]);
  const indexBase = { store: "Elasticsearch", kind: "index", name: concrete } as const;
  const aliasBase = { store: "Elasticsearch", kind: "alias", name: alias } as const;

  // Something wrote to the alias name before setup ran: Elasticsearch made an index of it, with
  // guessed types; an alias of that name cannot exist beside it.
  if (found[alias]) {
    return [
      {
        ...aliasBase,
        status: "differs",
        differences: [
          `an index named ${alias} exists where capline expects an alias to ${concrete} ` +
            "(probably written to before setup ran); delete it or run `capline reset`",
        ],
      },
    ];
  }

  const index = found[concrete];
  if (!index) {
    const others = Object.keys(found);
    if (others.length) {
      // The template would add the alias to the new index too, leaving it on two indices: report
      // instead, and leave the alias and its index as they are.
      return [
        {
          ...indexBase,
          status: "differs",
          differences: [`not created: the alias ${alias} points to ${others.join(", ")} already`],
        },
        {
          ...aliasBase,
          status: "differs",
          differences: [`points to ${others.join(", ")} instead of ${concrete}`],
        },
      ];
    }
    await es.indices.create({
      index: concrete,
      settings: indexSettings(settings),
      mappings: mappingFor(name) as never,
      aliases: { [alias]: { is_write_index: true } },
    });
    return [
      { ...indexBase, status: "created", differences: [], detail: `${settings.shards} shard(s)` },
      { ...aliasBase, status: "created", differences: [], detail: `→ ${concrete}` },
    ];
  }

  const mappingDifferences = diffMappings(mappingFor(name) as MappingLike, index.mappings ?? {});
  const upgrade = v2Upgrade(name, mappingDifferences);
  const differences = [
    ...settingDifferences(index.settings, settings),
    ...(upgrade === undefined ? mappingDifferences.map(describeDifference) : []),
  ];
  // An index of an earlier contract: the new fields are added to its mapping in place (adding
  // fields is what a mapping update allows; the fields it has are sent unchanged, so nested paths
  // such as rejected_by_reason.id_too_long need no special case); ensureIndices then moves the
  // sales documents.
  const added =
    upgrade !== undefined && differences.length === 0
      ? await es.indices
          .putMapping({ index: concrete, properties: mappingFor(name).properties as never })
          .then(() => upgrade)
      : undefined;
  if (upgrade !== undefined && added === undefined)
    differences.push(...mappingDifferences.map(describeDifference));
  const refresh = refreshDifference(index.settings, settings);
  if (refresh !== undefined)
    await es.indices.putSettings({
      index: concrete,
      settings: { refresh_interval: settings.refreshInterval },
    });
  const items: SetupItem[] = [
    {
      ...indexBase,
      status: differences.length ? "differs" : added ? "migrated" : "unchanged",
      differences,
      ...(refresh !== undefined || added
        ? {
            detail: [
              ...(added ? [`${addedDetail(added)} to the mapping`] : []),
              ...(refresh !== undefined ? [`refresh_interval ${refresh} → ${settings.refreshInterval}`] : []),
            ].join("; "),
          }
        : {}),
    },
  ];
  const holders = Object.entries(found)
    .filter(([, info]) => info.aliases && alias in info.aliases)
    .map(([indexName]) => indexName);
  if (holders.length === 1 && holders[0] === concrete) {
    items.push({ ...aliasBase, status: "unchanged", differences: [], detail: `→ ${concrete}` });
  } else if (holders.length === 0) {
    await es.indices.putAlias({ index: concrete, name: alias, is_write_index: true });
    items.push({ ...aliasBase, status: "created", differences: [], detail: `→ ${concrete}` });
  } else {
    items.push({
      ...aliasBase,
      status: "differs",
      differences: [`points to ${holders.join(", ")}; expected only ${concrete}`],
    });
  }
  return items;
}

/** Templates, indices and aliases for every index of capline under `prefix`. */
export async function ensureIndices(
  es: Client,
  prefix: string,
  settings: IndexSettings,
): Promise<SetupItem[]> {
  const items: SetupItem[] = [];
  for (const name of INDEX_NAMES) {
    items.push(await ensureTemplate(es, prefix, name, settings));
    items.push(...(await ensureIndex(es, prefix, name, settings)));
  }
  // Index contract v2: move the documents of a version-1 installation, once both sales indices
  // have the v2 mapping (never when one of them differs otherwise).
  const sales = items.filter(
    (i) =>
      i.kind === "index" &&
      (i.name === concreteIndexName(prefix, "sales-daily") ||
        i.name === concreteIndexName(prefix, "sales-hourly")),
  );
  if (sales.length === 2 && sales.every((i) => i.status !== "differs")) {
    const moved = await migrateSalesDocuments(es, prefix);
    const hourlyItem = sales[1] as SetupItem;
    if (moved.orphans > 0) {
      hourlyItem.status = "differs";
      hourlyItem.differences.push(
        `index contract v2: ${moved.orphans} hourly product document(s) have no daily document to fold into; ` +
          "left in place (rebuild with `capline reset` and a replay)",
      );
    } else if (moved.folded + moved.filled > 0) {
      hourlyItem.status = "migrated";
      const what = `index contract v2: ${moved.folded} hourly product document(s) folded into the daily ones' state.hours and deleted, ${moved.filled} document(s) given day_of_week/hour_of_day`;
      hourlyItem.detail = hourlyItem.detail ? `${hourlyItem.detail}; ${what}` : what;
    }
  }
  return items;
}

/** Concrete indices that hold capline's data under `prefix` (behind the aliases, or named like them). */
export async function dataIndices(es: Client, prefix: string): Promise<string[]> {
  const names = INDEX_NAMES.flatMap((n) => [aliasName(prefix, n), concreteIndexName(prefix, n)]);
  return Object.keys(await getIndices(es, names)).sort();
}

/** Documents in one index, as far as the last refresh shows them (about a second behind). */
export async function countDocuments(es: Client, index: string): Promise<number> {
  const { count } = await es.count({ index });
  return count;
}

/**
 * Every concrete index of `prefix`, whatever its mapping version (`<prefix>-profiles-v*`...), for
 * `reset --drop`: a pattern per index name, so another prefix that merely starts the same way
 * (`capline-demo` beside `capline`) is never caught.
 */
export async function allVersionIndices(es: Client, prefix: string): Promise<string[]> {
  const patterns = INDEX_NAMES.map((n) => indexTemplatePattern(prefix, n));
  const found = await es.indices.get({
    index: patterns.join(","),
    allow_no_indices: true,
    expand_wildcards: "all",
  });
  return Object.keys(found).sort();
}

/** capline's index templates of `prefix` that exist. */
export async function existingTemplates(es: Client, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for (const n of INDEX_NAMES) {
    const name = templateName(prefix, n);
    if (await es.indices.existsIndexTemplate({ name })) names.push(name);
  }
  return names;
}
