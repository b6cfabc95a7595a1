/** The LRU cache, bounded by bytes and by count: what it holds never exceeds its bound, and it forgets the least recently used first. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from '../../src/util/lru-cache.ts';
import { prng } from '../helpers/prng.ts';

const bytes = (n: number) => new Uint8Array(n);

describe('LruCache', () => {
  it('stays within its byte bound whatever is put in, and keeps the accounting exact', () => {
    const bound = 10_000;
    const cache = new LruCache<number, Uint8Array>(bound, (v) => v.length);
    const random = prng(7);
    const live = new Map<number, number>();
    for (let i = 0; i < 5_000; i++) {
      const key = Math.floor(random() * 200);
      if (random() < 0.2) {
        cache.delete(key);
        live.delete(key);
        continue;
      }
      const size = Math.floor(random() * 3_000);
      if (cache.set(key, bytes(size))) live.set(key, size);
      else live.delete(key);
      assert.ok(cache.bytes <= bound, `${cache.bytes} bytes held, bound ${bound}`);
    }
    let sum = 0;
    let count = 0;
    for (const key of live.keys()) {
      const value = cache.get(key);
      if (value) {
        sum += value.length;
        count++;
      }
    }
    assert.equal(sum, cache.bytes);
    assert.equal(count, cache.size);
  });

  it('evicts the least recently used entries first; a read makes an entry fresh', () => {
    const cache = new LruCache<string, Uint8Array>(300, (v) => v.length);
    cache.set('a', bytes(100));
    cache.set('b', bytes(100));
    cache.set('c', bytes(100));
    assert.ok(cache.get('a'));
    cache.set('d', bytes(150)); // needs 150: evicts b then c, never a (just read)
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('c'), undefined);
    assert.ok(cache.get('a'));
    assert.ok(cache.get('d'));
    assert.equal(cache.bytes, 250);
  });

  it('never keeps a value larger than the whole bound, and replacing a key re-counts it', () => {
    const cache = new LruCache<string, Uint8Array>(100, (v) => v.length);
    cache.set('small', bytes(40));
    assert.equal(cache.set('huge', bytes(101)), false);
    assert.equal(cache.get('huge'), undefined);
    assert.ok(cache.get('small'), 'an oversized value evicts nothing');
    cache.set('small', bytes(90));
    assert.equal(cache.bytes, 90);
  });

  it('without a size bounds the number of entries, forgetting the least recently used', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1); // a is now fresher than b
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    assert.equal(cache.size, 2);
  });
});
