// The redaction rules (src/config/secrets.ts): what is masked in a URL, in text that is not one,
// in free text holding known secrets, and in --print-config (through the real loader).
import { loadConfig } from '../../src/config/load';
import { schemaLeaves } from '../../src/config/schema';
import { MIN_HIDDEN, hideSecrets, httpUrl, redactUrl, urlSecrets } from '../../src/core/secrets';

describe('redactUrl', () => {
  it.each([
    ['user and password', 'http://user:pass@falcon:6060/api/push', 'http://***:***@falcon:6060/api/push'],
    ['a user alone (a token as user name)', 'https://tok3n@gw.example/v1/metrics', 'https://***@gw.example/v1/metrics'],
    ['a password alone', 'https://:pw@gw.example/x', 'https://:***@gw.example/x'],
    ['query values, keys kept', 'https://otlp.example:443/v1/metrics?api_key=abc&tenant=t1', 'https://otlp.example/v1/metrics?api_key=***&tenant=***'],
    ['a query key without a value', 'http://h:1/p?s3cr3t&a=1', 'http://h:1/p?***&a=***'],
    ['the fragment', 'http://h:1/p#token=x', 'http://h:1/p#***'],
    ['%-encoded credentials', 'http://u%40x:p%3Aw@h/', 'http://***:***@h/'],
    ['every part at once', 'https://a:b@h:8443/base/?k=v#f', 'https://***:***@h:8443/base/?k=***#***'],
    ['non-http schemes (docker.host)', 'tcp://du:dp@127.0.0.1:2375/', 'tcp://***:***@127.0.0.1:2375/'],
  ])('masks %s', (_, url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each(['http://localhost:4318/v1/metrics', 'unix:///var/run/docker.sock', '/var/run/docker.sock', 'HTTP://Host:1/P', ''])(
    'returns %j as given when it has no secret part',
    (url) => {
      expect(redactUrl(url)).toBe(url);
    },
  );

  it.each([
    ['a password with a slash', 'http://user:pa/ss@falcon:6060/api/push?token=abc', 'http://***@falcon:6060/api/push?***'],
    ['a password with a hash', 'http://u:p#ss@h:bad/x', 'http://***@h:bad/x'],
    ['a bad port', 'http://u:pw@h:port/x?k=v', 'http://***@h:port/x?***'],
    ['no scheme', 'u:pw@h:1/x?k=v', '***@h:1/x?***'],
    ['an opaque URL', 'mailto:someone@x?subject=s', '***@x?***'],
    ['leading blanks', ' http://u:pw@h/', '***@h/'],
  ])('masks text that is not a hierarchical URL more widely: %s', (_, text, shown) => {
    expect(redactUrl(text)).toBe(shown);
  });

  it('never leaves a secret behind, whatever the URL (the parts redactUrl hides, as urlSecrets lists them)', () => {
    const urls = ['http://user:pass@falcon:6060/api/push', 'https://x.example/v1?api_key=K3y%2B1&sig=abcd#frag', 'tcp://du:dp@127.0.0.1:2375'];
    for (const url of urls) {
      const shown = redactUrl(url);
      for (const s of urlSecrets(url)) expect(shown).not.toContain(s);
    }
  });
});

describe('urlSecrets', () => {
  it('lists user, password, query values and fragment, as written and decoded', () => {
    expect(urlSecrets('https://us%40r:p%3Aw@h/x?api_key=a%2Bb&flag#frag').sort()).toEqual(
      ['a%2Bb', 'a+b', 'flag', 'frag', 'p%3Aw', 'p:w', 'us%40r', 'us@r'].sort(),
    );
    expect(urlSecrets('http://h:1/v1/push')).toEqual([]);
  });
});

describe('hideSecrets', () => {
  it('replaces every occurrence, longest secret first, in one pass', () => {
    const hide = hideSecrets(['token', 'token-123', 'a.b*c']);
    expect(hide('401: token-123 refused; token token; a.b*c, aXb*c')).toBe('401: *** refused; *** ***; ***, aXb*c');
  });

  it(`leaves strings shorter than ${MIN_HIDDEN} characters alone (they would mask ordinary words)`, () => {
    expect(hideSecrets(['1', 'ab', ''])('HTTP 401: ab1')).toBe('HTTP 401: ab1');
    expect(hideSecrets([])('text')).toBe('text');
  });
});

describe('httpUrl', () => {
  it.each([
    ['http://user:pa/ss@falcon:bad/api/push?token=abc', /^k: "http:\/\/\*\*\*@falcon:bad\/api\/push\?\*\*\*" is not a URL \(for example e\)$/],
    ['ftp://user:s3cret@h/x?k=abc', /^k: "ftp:\/\/\*\*\*:\*\*\*@h\/x\?k=\*\*\*" must be http:\/\/ or https:\/\//],
  ])('names the setting and shows %s redacted', (text, message) => {
    expect(() => httpUrl(text, 'k', 'e')).toThrow(message);
    try {
      httpUrl(text, 'k');
    } catch (err) {
      for (const s of ['user', 'pa/ss', 's3cret', 'abc']) expect((err as Error).message).not.toContain(s);
    }
  });

  it('parses http and https', () => {
    expect(httpUrl('https://u:p@h:1/x?k=v', 'k').password).toBe('p');
  });
});

describe('--print-config masking', () => {
  const env = {
    SOCKPULSE_FALCON_URL: 'http://fuser:fpass@falcon:6060/api/push?ftoken=F1',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://ouser:opass@otlp.example:4318/v1/metrics?api_key=O1',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'authorization=Bearer%20HEADERSECRET',
    DOCKER_HOST: 'tcp://duser:dpass@10.0.0.1:2375',
    // Not checked (and so loadable) in a mode that does not use Docker: the Docker client cannot
    // send credentials, so in auto and docker modes this docker.host is refused at load.
    SOCKPULSE_DISCOVERY: 'procfs',
  };

  it('masks the secret parts of every URL key and the whole of every sensitive key, and keeps the rest', () => {
    const cfg = JSON.parse(loadConfig({ env }).printable());
    expect(cfg.sinks.falcon.url).toBe('http://***:***@falcon:6060/api/push?ftoken=***');
    expect(cfg.sinks.otlp.endpoint).toBe('https://***:***@otlp.example:4318/v1/metrics?api_key=***');
    expect(cfg.sinks.otlp.headers).toBe('[Sensitive]');
    expect(cfg.docker.host).toBe('tcp://***:***@10.0.0.1:2375');
    const text = JSON.stringify(cfg);
    for (const s of ['fuser', 'fpass', 'F1', 'ouser', 'opass', 'O1', 'HEADERSECRET', 'duser', 'dpass']) expect(text).not.toContain(s);
  });

  it('marks exactly the URL-valued keys', () => {
    const marked = schemaLeaves().filter(([, v]) => v.redact === 'url').map(([k]) => k);
    expect(marked).toEqual(['docker.host', 'sinks.falcon.url', 'sinks.otlp.endpoint', 'sinks.clickhouse.url']);
  });
});
