#!/usr/bin/env node
// The peer: the benchmark's ten metadata checks evaluated the way Backstage Tech Insights
// evaluates checks, with json-rules-engine.
//
// Tech Insights works in two steps, and so does this script:
//  1. Fact retrievers turn each catalog entity into a flat object of facts
//     (entityOwnershipFactRetriever: hasOwner, hasGroupOwner; entityMetadataFactRetriever:
//     hasTitle, hasDescription, hasTags; techdocsFactRetriever:
//     hasAnnotationBackstageIoTechdocsRef). Tech Insights does this in a scheduled job and
//     stores the facts, so deriving them is timed apart from the evaluation.
//  2. JsonRulesEngineFactChecker.runChecks(entity) adds one rule per check (with a no-op
//     event) to an Engine and calls `engine.run(facts)` once per entity; a check passes
//     when its rule is in `results`, fails when it is in `failureResults`.
//
// Tech Insights builds a new Engine on every runChecks call. This script times both that
// and one Engine reused for every entity (the peer at its best), and the benchmark
// compares the engine against the faster of the two. The facts mirror the scorecard
// checks' exact semantics (blank strings count as missing, lifecycles compare without
// case), so both sides must count the same passes; where Tech Insights' own retrievers
// are looser (`Boolean(" ")` is true) the stricter reading is used, on both sides.
//
// Usage: node evaluate.js CATALOG.jsonl   → prints one JSON object on stdout.

'use strict';

const fs = require('node:fs');
const { Engine } = require('json-rules-engine');
const { version } = require('json-rules-engine/package.json');

const noopEvent = { type: 'noop' };

function fact(name, operator, value) {
  return { conditions: { all: [{ fact: name, operator, value }] } };
}

// The ten checks of bench/track.yaml, by their configured ids.
const RULES = {
  has_owner: fact('hasOwner', 'equal', true),
  has_description: fact('hasDescription', 'equal', true),
  owner_is_group: fact('hasGroupOwner', 'equal', true),
  has_title: fact('hasTitle', 'equal', true),
  has_tags: fact('tagCount', 'greaterThanInclusive', 1),
  lifecycle_allowed: fact('lifecycle', 'in', ['production', 'experimental']),
  has_system: fact('hasSystem', 'equal', true),
  has_techdocs: fact('hasAnnotationBackstageIoTechdocsRef', 'equal', true),
  has_pagerduty: fact('hasAnnotationPagerdutyComServiceId', 'equal', true),
  two_tags: fact('tagCount', 'greaterThanInclusive', 2),
};

const KINDS_IN_A_SYSTEM = new Set(['component', 'api', 'resource']);

function text(value) {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

// What the fact retrievers would store for one entity, merged into one object as
// runChecks merges the facts of every retriever before `engine.run`.
function deriveFacts(entity) {
  const metadata = entity.metadata || {};
  const spec = entity.spec && typeof entity.spec === 'object' ? entity.spec : {};
  const annotations = metadata.annotations || {};
  const owner = text(spec.owner);
  const tags = Array.isArray(metadata.tags)
    ? metadata.tags.filter(tag => typeof tag === 'string')
    : [];
  const lifecycle = text(spec.lifecycle);
  const ownerKind = owner === null ? null : owner.includes(':') ? owner.split(':')[0] : 'group';
  return {
    hasOwner: owner !== null,
    hasGroupOwner: ownerKind !== null && ownerKind.toLowerCase() === 'group',
    hasTitle: text(metadata.title) !== null,
    hasDescription: text(metadata.description) !== null,
    hasTags: tags.length > 0,
    tagCount: tags.length,
    lifecycle: lifecycle === null ? null : lifecycle.toLowerCase(),
    hasSystem:
      KINDS_IN_A_SYSTEM.has(String(entity.kind).toLowerCase()) && text(spec.system) !== null,
    hasAnnotationBackstageIoTechdocsRef: text(annotations['backstage.io/techdocs-ref']) !== null,
    hasAnnotationPagerdutyComServiceId: text(annotations['pagerduty.com/service-id']) !== null,
  };
}

function newEngine() {
  const engine = new Engine();
  for (const [name, rule] of Object.entries(RULES)) {
    engine.addRule({ ...rule, name, event: noopEvent });
  }
  return engine;
}

function seconds(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Runs the rules over every entity's facts; returns the seconds taken and passes per rule.
async function evaluate(allFacts, enginePerEntity) {
  const passes = Object.fromEntries(Object.keys(RULES).map(name => [name, 0]));
  let evaluations = 0;
  const shared = enginePerEntity ? null : newEngine();
  const start = process.hrtime.bigint();
  for (const facts of allFacts) {
    const engine = shared || newEngine();
    const { results, failureResults } = await engine.run(facts);
    for (const result of results) passes[result.name] += 1;
    evaluations += results.length + failureResults.length;
  }
  return { seconds: seconds(start), evaluations, passes };
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node evaluate.js CATALOG.jsonl\n');
    process.exit(2);
  }
  const entities = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(line => line.length > 0)
    .map(line => JSON.parse(line));

  const deriveStart = process.hrtime.bigint();
  const allFacts = entities.map(deriveFacts);
  const deriveSeconds = seconds(deriveStart);

  // Warm the JIT on a slice first, so the peer is timed at its steady state.
  await evaluate(allFacts.slice(0, 2000), false);
  await evaluate(allFacts.slice(0, 2000), true);
  const shared = await evaluate(allFacts, false);
  const perEntity = await evaluate(allFacts, true);
  if (JSON.stringify(shared.passes) !== JSON.stringify(perEntity.passes)) {
    throw new Error('the two ways of running the engine disagree');
  }
  const rate = run => run.evaluations / run.seconds;
  const best = rate(shared) >= rate(perEntity) ? shared : perEntity;
  const out = {
    engine: 'json-rules-engine',
    version,
    node: process.version,
    entities: entities.length,
    rules: Object.keys(RULES).length,
    evaluations: best.evaluations,
    seconds: best.seconds,
    evaluations_per_second: rate(best),
    best: best === shared ? 'shared_engine' : 'engine_per_entity',
    shared_engine: { seconds: shared.seconds, evaluations_per_second: rate(shared) },
    engine_per_entity: { seconds: perEntity.seconds, evaluations_per_second: rate(perEntity) },
    derive_facts_seconds: deriveSeconds,
    passes: best.passes,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
