// Parsing a registry's `WWW-Authenticate` header (RFC 7235): `Basic realm="x"` or
// `Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull"`, parameters
// as tokens or quoted strings (with backslash escapes), separated by commas and spaces.

/** One challenge: the scheme in lower case and its parameters (names in lower case). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** The challenges in a `WWW-Authenticate` header value; an unparsable tail is dropped, never thrown. */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let s = header;
  const skip = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
  };
  let current: AuthChallenge | undefined;
  for (;;) {
    skip(/^[\s,]+/);
    if (!s) break;
    const name = TOKEN.exec(s)?.[0];
    if (!name) break;
    s = s.slice(name.length);
    skip(/^[ \t]*/);
    if (s.startsWith('=') && current) {
      // A parameter of the current challenge (a token68 after a scheme is not used by registries).
      s = s.slice(1);
      skip(/^[ \t]*/);
      let value: string;
      if (s.startsWith('"')) {
        value = '';
        let i = 1;
        for (; i < s.length && s[i] !== '"'; i++) {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
        }
        s = s.slice(i + 1);
      } else {
        value = /^[^,\s]*/.exec(s)![0];
        s = s.slice(value.length);
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
