/** The part of compose-go's normalized model (`compose-validate` output) the tests read. */

export interface Port {
  target: number;
  published?: string;
  host_ip?: string;
}

export interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: Port[];
  expose?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  container_name?: string;
  hostname?: string;
  restart?: string;
  profiles?: string[];
  user?: string;
  init?: boolean;
  volumes?: { type: string; source?: string; target: string }[];
}

export interface Model {
  name: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

export function serviceOf(model: Model, name: string): Service {
  const service = model.services[name];
  if (!service) throw new Error(`service ${name} is missing`);
  return service;
}

/** A service's environment with unset values as empty strings. */
export function envOf(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? ""]));
}
