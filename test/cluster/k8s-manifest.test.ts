// The Kubernetes Indexed Job (docs/cluster/ablate-job.yaml), validated offline: no Kubernetes runs here. Three
// independent checks, each shown to fail on a broken copy of the manifest:
//  1. the batch/v1 Job JSON schema (kubernetes-models: the Kubernetes OpenAPI definitions compiled to ajv
//     validators): types, required fields, enums such as completionMode;
//  2. unknown fields (what `kubectl apply --validate=strict` refuses; the OpenAPI schemas allow them): the manifest
//     type-checked as a `Job` of kubernetes-types by the TypeScript compiler, whose excess-property check names them;
//  3. the rules the API server adds for Indexed Jobs and the project's own contract: completions set, parallelism
//     <= completions, restartPolicy OnFailure or Never, the shard argument `$((JOB_COMPLETION_INDEX + 1))/N` with N =
//     completions, results on the mounted volume.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';

const ROOT = path.join(__dirname, '..', '..');
const MANIFEST = path.join(ROOT, 'docs', 'cluster', 'ablate-job.yaml');

type Obj = Record<string, unknown>;

function loadManifest(): Obj {
  const docs = parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8'));
  assert.equal(docs.length, 1, 'one document');
  assert.deepEqual(docs[0].errors.map((e) => e.message), [], 'YAML parses');
  return docs[0].toJS() as Obj;
}

/** Check 1: the Job schema; returns the validation errors (empty when valid). */
function schemaErrors(doc: Obj): string[] {
  try {
    new Job(doc as ConstructorParameters<typeof Job>[0]).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

/** Check 2: the manifest as a kubernetes-types `Job` literal through tsc; returns the type errors. */
function typeErrors(doc: Obj): string[] {
  const file = path.join(ROOT, 'test', 'cluster', '__manifest_check__.ts');
  const source = `import type { Job } from 'kubernetes-types/batch/v1';\nexport const job: Job = ${JSON.stringify(doc, null, 2)};\n`;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? source : read(f));
  host.fileExists = ((exists) => (f: string) => path.resolve(f) === file || exists(f))(host.fileExists.bind(host));
  host.getSourceFile = (f, lang, onError, create) => (path.resolve(f) === file ? ts.createSourceFile(f, source, lang) : getSource(f, lang, onError, create));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

/** Check 3: Indexed-Job rules of the API server and the project's shard contract; returns the violations. */
function indexedJobErrors(doc: Obj): string[] {
  const errors: string[] = [];
  const spec = (doc.spec ?? {}) as Obj;
  const pod = (((spec.template ?? {}) as Obj).spec ?? {}) as Obj;
  if (spec.completionMode !== 'Indexed') errors.push(`spec.completionMode must be Indexed, got ${JSON.stringify(spec.completionMode)}`);
  const n = spec.completions;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) errors.push(`spec.completions must be set to the shard count (Indexed Jobs need it), got ${JSON.stringify(n)}`);
  if (typeof spec.parallelism === 'number' && typeof n === 'number' && spec.parallelism > n) errors.push(`spec.parallelism ${spec.parallelism} exceeds completions ${n}`);
  if (!['OnFailure', 'Never'].includes(String(pod.restartPolicy))) errors.push(`a Job's pods need restartPolicy OnFailure or Never, got ${JSON.stringify(pod.restartPolicy)}`);
  const containers = (pod.containers ?? []) as Obj[];
  if (containers.length !== 1) errors.push(`one container expected, got ${containers.length}`);
  const c = containers[0] ?? {};
  const cmd = [...((c.command ?? []) as string[]), ...((c.args ?? []) as string[])].join(' ');
  const shard = /--shard \$\(\(JOB_COMPLETION_INDEX \+ 1\)\)\/(\d+)/.exec(cmd);
  if (!/coreface(\.js)? ablate /.test(cmd)) errors.push('the container must run `coreface ablate`');
  if (!shard) errors.push('the shard must be --shard $((JOB_COMPLETION_INDEX + 1))/N (the index is 0-based, shards 1-based)');
  else if (Number(shard[1]) !== n) errors.push(`--shard .../${shard[1]} but completions is ${JSON.stringify(n)}: every shard must run exactly once`);
  const results = /--results (\S+)/.exec(cmd)?.[1];
  const mounts = ((c.volumeMounts ?? []) as Obj[]).map((m) => String(m.mountPath));
  if (!results || !mounts.some((m) => results === m || results.startsWith(`${m}/`))) errors.push(`--results ${results} is not on a mounted volume (${mounts.join(', ') || 'none'})`);
  return errors;
}

const all = (doc: Obj): { schema: string[]; types: string[]; indexed: string[] } => ({ schema: schemaErrors(doc), types: typeErrors(doc), indexed: indexedJobErrors(doc) });

describe('cluster: the Kubernetes Indexed Job manifest, validated offline', function () {
  this.timeout(60000);
  const doc = loadManifest();
  const broken = (edit: (d: Obj & { spec: Obj & { template: { spec: Obj & { containers: Obj[] } } } }) => void): Obj => {
    const copy = structuredClone(doc) as Parameters<typeof edit>[0];
    edit(copy);
    return copy;
  };

  it('docs/cluster/ablate-job.yaml passes the Job schema, the field-name check and the Indexed-Job rules', () => {
    const r = all(doc);
    assert.deepEqual(r, { schema: [], types: [], indexed: [] });
    assert.equal(doc.kind, 'Job');
    assert.equal(doc.apiVersion, 'batch/v1');
  });

  it('the schema check fails on a wrong enum, a wrong type and a missing required field', () => {
    assert.match(schemaErrors(broken((d) => (d.spec.completionMode = 'Indexd'))).join(), /completionMode must be equal to one of the allowed values/);
    assert.match(schemaErrors(broken((d) => (d.spec.completions = '8'))).join(), /completions must be integer/);
    assert.match(schemaErrors(broken((d) => delete d.spec.template.spec.containers[0].name)).join(), /containers\/0 must have required property name/);
  });

  it('the field-name check fails on a misspelt field the schema lets through', () => {
    const typo = broken((d) => {
      const c = d.spec.template.spec.containers[0];
      c.resourcez = c.resources;
      delete c.resources;
    });
    assert.deepEqual(schemaErrors(typo), [], 'the OpenAPI schema allows unknown fields');
    assert.match(typeErrors(typo).join(), /known properties, and '"resourcez"' does not exist in type 'Container'/);
  });

  it('the Indexed-Job check fails on a shard count that differs from completions, and on restartPolicy Always', () => {
    assert.match(indexedJobErrors(broken((d) => (d.spec.completions = 4))).join(), /--shard \.\.\.\/8 but completions is 4/);
    assert.match(indexedJobErrors(broken((d) => (d.spec.template.spec.restartPolicy = 'Always'))).join(), /restartPolicy OnFailure or Never/);
    assert.match(indexedJobErrors(broken((d) => delete d.spec.completionMode)).join(), /completionMode must be Indexed/);
  });
});
