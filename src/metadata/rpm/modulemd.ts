import { parseAllDocuments } from 'yaml';
import { RepodError } from '../../errors.ts';

/** One module stream (modulemd v2) of a modules.yaml: its identity and the packages it is built of. */
export interface ModuleStream {
  name: string;
  stream: string;
  version: number;
  context: string;
  arch: string;
  /** artifacts.rpms: NEVRAs (name-epoch:version-release.arch). */
  rpms: string[];
}

export interface ModulesSummary {
  /** YAML documents in the stream (streams, defaults, obsoletes, translations). */
  documents: number;
  streams: ModuleStream[];
  /** Modules that modulemd-defaults documents give a default stream or profile for. */
  defaults: string[];
}

const CODE = 'invalid_modulemd';

function invalid(message: string): never {
  throw new RepodError(CODE, message, { status: 400 });
}

type Map = Record<string, unknown>;

const isMap = (v: unknown): v is Map => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A scalar modulemd writes as a string; YAML reads `stream: 5` or `context: 6c81f848` as it likes. */
function scalar(data: Map, field: string, where: string): string {
  const v = data[field];
  if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  return invalid(`${where}: data.${field} is missing or not a string`);
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) invalid(`${where} must be a list of strings`);
  return (v as unknown[]).map(String);
}

function moduleStream(data: Map, where: string): ModuleStream {
  const name = scalar(data, 'name', where);
  const stream = scalar(data, 'stream', where);
  const version = data.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) invalid(`${where}: data.version must be a non-negative integer`);
  const context = scalar(data, 'context', where);
  const arch = scalar(data, 'arch', where);
  const id = `${name}:${stream}:${version}:${context}:${arch}`;
  // libmodulemd refuses a stream without these, and libdnf then loads none of the repository's modules.
  scalar(data, 'summary', `module ${id}`);
  scalar(data, 'description', `module ${id}`);
  if (!isMap(data.license) || !Array.isArray(data.license.module) || data.license.module.length === 0) invalid(`module ${id}: data.license.module must list the module's licenses`);
  let rpms: string[] = [];
  if (data.artifacts !== undefined) {
    if (!isMap(data.artifacts)) invalid(`module ${id}: data.artifacts must be a mapping`);
    if (data.artifacts.rpms !== undefined) rpms = stringList(data.artifacts.rpms, `module ${id}: data.artifacts.rpms`);
    for (const nevra of rpms) if (!/^.+-(\d+:)?[^-:]+-[^-]+\.[^.]+$/.test(nevra)) invalid(`module ${id}: artifact ${JSON.stringify(nevra)} is not name-epoch:version-release.arch`);
  }
  if (data.profiles !== undefined && !isMap(data.profiles)) invalid(`module ${id}: data.profiles must be a mapping`);
  return { name, stream, version, context, arch, rpms };
}

/**
 * Checks a modulemd YAML stream as libmodulemd (which libdnf uses for modular filtering) reads a
 * repository's modules.yaml: every document a mapping with `document`, `version` and `data`;
 * `modulemd` v2 streams with name, stream, version, context and arch (each once), their summary,
 * description and module licenses, and artifacts as NEVRAs; `modulemd-defaults`,
 * `modulemd-obsoletes` and `modulemd-translations` v1 naming their module. The stream itself is
 * published as uploaded.
 */
export function parseModules(text: string): ModulesSummary {
  if (text.trim() === '') invalid('the modules document is empty');
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) invalid('the modules document holds no YAML document');
  const streams: ModuleStream[] = [];
  const defaults: string[] = [];
  const seen = new Set<string>();
  let n = 0;
  for (const doc of docs) {
    n++;
    const where = `YAML document ${n}`;
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e.linePos?.[0];
      invalid(`${where} is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${e.message.split('\n')[0]}`);
    }
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (!isMap(value)) invalid(`${where} is not a mapping with document, version and data`);
    const { document, version, data } = value;
    if (typeof document !== 'string') invalid(`${where}: the document field is missing`);
    if (!isMap(data)) invalid(`${where} (${document}): data is missing or not a mapping`);
    switch (document) {
      case 'modulemd': {
        if (version !== 2) invalid(`${where}: modulemd version ${JSON.stringify(version)} is not supported here (repositories carry version 2)`);
        const s = moduleStream(data, where);
        const id = `${s.name}:${s.stream}:${s.version}:${s.context}:${s.arch}`;
        if (seen.has(id)) invalid(`module ${id} appears twice`);
        seen.add(id);
        streams.push(s);
        break;
      }
      case 'modulemd-defaults': {
        if (version !== 1) invalid(`${where}: modulemd-defaults version ${JSON.stringify(version)} is not supported (expected 1)`);
        const module = scalar(data, 'module', where);
        if (data.stream !== undefined) scalar(data, 'stream', where);
        if (data.profiles !== undefined) {
          if (!isMap(data.profiles)) invalid(`${where}: defaults of ${module}: data.profiles must map streams to profile lists`);
          for (const [stream, profiles] of Object.entries(data.profiles)) stringList(profiles, `${where}: defaults of ${module}: profiles of stream ${stream}`);
        }
        if (defaults.includes(module)) invalid(`${where}: module ${module} has two modulemd-defaults documents`);
        defaults.push(module);
        break;
      }
      case 'modulemd-obsoletes': {
        if (version !== 1) invalid(`${where}: modulemd-obsoletes version ${JSON.stringify(version)} is not supported (expected 1)`);
        scalar(data, 'module', where);
        scalar(data, 'stream', where);
        scalar(data, 'modified', where);
        scalar(data, 'message', where);
        break;
      }
      case 'modulemd-translations': {
        if (version !== 1) invalid(`${where}: modulemd-translations version ${JSON.stringify(version)} is not supported (expected 1)`);
        scalar(data, 'module', where);
        scalar(data, 'stream', where);
        break;
      }
      default:
        invalid(`${where}: unknown document type ${JSON.stringify(document)} (expected modulemd, modulemd-defaults, modulemd-obsoletes or modulemd-translations)`);
    }
  }
  if (n === 0) invalid('the modules document holds no YAML document');
  if (streams.length === 0 && defaults.length === 0) invalid('the modules document defines no module stream and no defaults');
  return { documents: n, streams, defaults };
}
