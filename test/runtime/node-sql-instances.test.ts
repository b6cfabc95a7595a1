import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSqlJs } from '../../src/runtime/node-core.ts';

// A wasm memory never shrinks: a build that shared one long-lived sql.js instance left its high
// water mark in the process for good. Each call must give an instance (and memory) of its own.
test('each sqlite build gets a sql.js instance with its own wasm memory', async () => {
  const first = await loadSqlJs();
  const second = await loadSqlJs();
  assert.notEqual(first, second);
  assert.notEqual(first.Database, second.Database);

  const a = new first.Database();
  a.run('CREATE TABLE t (v TEXT)');
  a.run('INSERT INTO t VALUES (?)', [Buffer.alloc(4 << 20, 'x').toString()]);
  const b = new second.Database();
  b.run('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7)');
  // Both work side by side, and each holds only its own rows.
  assert.equal(a.exec('SELECT length(v) FROM t')[0].values[0][0], 4 << 20);
  assert.equal(b.exec('SELECT v FROM t')[0].values[0][0], 7);
  a.close();
  b.close();
});
