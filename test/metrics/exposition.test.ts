/** The metrics registry and its text format: escaping, cumulative histograms, a cluster's sums; the test reader refuses malformed text. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderExposition, sumFamilies } from '../../src/metrics/exposition.ts';
import { MetricsRegistry } from '../../src/metrics/registry.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';

describe('metrics exposition', () => {
  it('writes counters and histograms a strict reader accepts, label values escaped', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('t_requests_total', 'Requests.\nSecond line \\ backslash', ['route', 'status']);
    const latency = registry.histogram('t_latency_seconds', 'Latency.', ['route'], [0.1, 1]);
    requests.inc({ route: '/a/"quoted"\\path\nnl', status: '200' });
    requests.inc({ route: '/a/"quoted"\\path\nnl', status: '200' }, 2);
    requests.inc({ route: '/b', status: '404' });
    latency.observe({ route: '/b' }, 0.05);
    latency.observe({ route: '/b' }, 0.5);
    latency.observe({ route: '/b' }, 5);
    const families = parsePrometheusText(renderExposition(registry.own()));
    assert.equal(sampleValue(families, 't_requests_total', { route: '/a/"quoted"\\path\nnl' }), 3);
    assert.equal(families[0].help, 'Requests.\nSecond line \\ backslash');
    assert.equal(sampleValue(families, 't_latency_seconds_bucket', { route: '/b', le: '0.1' }), 1);
    assert.equal(sampleValue(families, 't_latency_seconds_bucket', { route: '/b', le: '1' }), 2);
    assert.equal(sampleValue(families, 't_latency_seconds_bucket', { route: '/b', le: '+Inf' }), 3);
    assert.equal(sampleValue(families, 't_latency_seconds_count', { route: '/b' }), 3);
    assert.equal(sampleValue(families, 't_latency_seconds_sum', { route: '/b' }), 5.55);
    assert.throws(() => requests.inc({}, -1), /only goes up/);
    assert.throws(() => registry.counter('t_requests_total', 'again'), /twice/);
  });

  it('sums the processes of a cluster series by series', () => {
    const one = new MetricsRegistry();
    const two = new MetricsRegistry();
    for (const r of [one, two]) {
      r.counter('t_total', 'T.', ['k']).inc({ k: 'a' });
      r.histogram('t_seconds', 'S.', [], [1]).observe({}, 0.5);
    }
    two.counter('t_other_total', 'O.').inc();
    (two.own()[0] as any).samples.push({ labels: { k: 'b' }, value: 4 });
    const families = parsePrometheusText(renderExposition(sumFamilies([one.own(), two.own()])));
    assert.equal(sampleValue(families, 't_total', { k: 'a' }), 2);
    assert.equal(sampleValue(families, 't_seconds_count'), 2);
    assert.equal(sampleValue(families, 't_seconds_bucket', { le: '1' }), 2);
    assert.equal(sampleValue(families, 't_other_total'), 1);
  });

  it('the test reader refuses malformed text', () => {
    const bad = [
      'x 1\n',
      '# TYPE x counter\nx{a="b} 1\n',
      '# TYPE x counter\nx{a="\\q"} 1\n',
      '# TYPE x counter\nx 1\nx 2\n',
      '# TYPE x counter\nx one\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
      '# TYPE x counter\nx 1',
    ];
    for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, JSON.stringify(text));
  });
});
