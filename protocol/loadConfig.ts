import Type, { type Static, type TObject } from 'typebox';
import { Value } from 'typebox/value';
import { type ErrorCode, FarplayError } from './errors.js';

/** What `defineConfig` needs: the schema with its defaults, the env prefix and the error code of a bad value. */
export interface DefineConfigParameters<S extends TObject> {
  /** One TypeBox object schema; every field with a default may be left out. */
  schema: S;
  /** Environment prefix, e.g. `FARPLAY_EDGE_`. */
  envPrefix: string;
  /** Catalogue code thrown for a bad value (e.g. `EDGE_BAD_CONFIG`). */
  errorCode: ErrorCode;
  /** Name used in messages, e.g. `edge`. */
  label: string;
  /** Cross-field rules the schema cannot say; returns a message when the config is wrong. */
  refine?: (config: Static<S>) => string | undefined;
}

/** A part's config: parse (defaults, coercion, validation, deep freeze) from an object or the environment. */
export interface ConfigDefinition<S extends TObject> {
  readonly schema: S;
  /** Field name → env name: `videoBitrateKbps` → `FARPLAY_EDGE_VIDEO_BITRATE_KBPS`. */
  envName(field: string): string;
  /** Applies defaults, converts strings, validates and deep-freezes. Throws the part's config error naming the field. */
  parse(input?: Partial<Static<S>> | Record<string, unknown>): Readonly<Static<S>>;
  /**
   * Reads `<prefix><FIELD>` variables (JSON for arrays and objects; empty means unset) and parses them;
   * each variable overrides the same field of `base` (e.g. a config file's contents).
   */
  fromEnv(env: Record<string, string | undefined>, base?: Record<string, unknown>): Readonly<Static<S>>;
}

/** Field name → env name under `prefix`: `videoBitrateKbps` → `<prefix>VIDEO_BITRATE_KBPS`. */
export function configEnvName(prefix: string, field: string): string {
  return prefix + field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * The one config loader every Farplay process uses: schema with defaults → validated, deep-frozen object;
 * a bad value stops start-up with `errorCode`, naming the field and its environment variable.
 */
export function defineConfig<S extends TObject>(parameters: DefineConfigParameters<S>): ConfigDefinition<S> {
  const { schema, envPrefix, errorCode, label, refine } = parameters;
  const envName = (field: string): string => configEnvName(envPrefix, field);

  const parse = (input: Partial<Static<S>> | Record<string, unknown> = {}): Readonly<Static<S>> => {
    const value = Value.Convert(schema, Value.Default(schema, structuredClone(input)));
    if (!Value.Check(schema, value)) {
      const first = Value.Errors(schema, value)[0];
      const path = first?.instancePath || '(root)';
      const field = path.replace(/^\//, '').split('/')[0] ?? '';
      const variable = field && field in schema.properties ? ` (${envName(field)})` : '';
      throw new FarplayError(
        errorCode,
        `${label} config field ${path}${variable}: ${first?.message ?? 'invalid'}`,
        {
          details: { field: path },
        },
      );
    }
    const config = value as Static<S>;
    const problem = refine?.(config);
    if (problem !== undefined) throw new FarplayError(errorCode, `${label} config: ${problem}`);
    return deepFreeze(config);
  };

  const fromEnv = (
    env: Record<string, string | undefined>,
    base: Record<string, unknown> = {},
  ): Readonly<Static<S>> => {
    const input: Record<string, unknown> = { ...base };
    const properties = schema.properties as Record<string, { type?: unknown }>;
    for (const field of Object.keys(properties)) {
      const raw = env[envName(field)];
      if (raw === undefined || raw === '') continue;
      const type = properties[field]?.type;
      if (type === 'array' || type === 'object') {
        try {
          input[field] = JSON.parse(raw);
        } catch (cause) {
          throw new FarplayError(errorCode, `${envName(field)} is not JSON`, { cause, details: { field } });
        }
      } else {
        input[field] = raw;
      }
    }
    return parse(input);
  };

  return { schema, envName, parse, fromEnv };
}

/** Freezes `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** pino log levels, as a config field (default `info`). */
export const LogLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  { default: 'info' },
);
