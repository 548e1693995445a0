// The Dockerfile parser (src/build/dockerfile.ts): BuildKit's reading of parser directives,
// comments, continuations, heredocs, flags and the exec/shell forms; its errors, placed at
// file:line:column; and the word expansion the builder applies to arguments.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  DockerfileError,
  ExpansionError,
  expandHeredoc,
  expandWord,
  expandWords,
  parseDockerfile,
  type Instruction,
} from '../../../src/build/dockerfile.js';

const FILE = '/app/Dockerfile';
const parse = (text: string) => parseDockerfile(text, FILE);

/** The error parsing `text` throws. */
function parseError(text: string): DockerfileError {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(DockerfileError);
    return e as DockerfileError;
  }
  throw new Error('parsed without an error');
}

/** An instruction without its place. */
const bare = ({ line: _l, column: _c, endLine: _e, original: _o, ...rest }: Instruction) => rest;

/** The instructions of the only stage of `FROM alpine` + `body`, without their places. */
function body(text: string): ReturnType<typeof bare>[] {
  const df = parse(`FROM alpine\n${text}\n`);
  expect(df.stages).toHaveLength(1);
  return df.stages[0]!.instructions.map(bare);
}

/** The error of `FROM alpine` + `text`: its message (after the place) and hint. */
function bodyError(text: string): { at: string; message: string; hint: string | undefined } {
  const e = parseError(`FROM alpine\n${text}\n`);
  const m = /^\/app\/Dockerfile:(\d+:\d+): (.*)$/s.exec(e.message);
  expect(m).not.toBeNull();
  return { at: m![1]!, message: m![2]!, hint: e.hint };
}

const vars =
  (v: Record<string, string>) =>
  (name: string): string | undefined =>
    v[name];

const COPY_DEFAULTS = { link: false, parents: false, exclude: [], keepGitDir: false, heredocs: [] };

describe('Dockerfiles as people write them', () => {
  it('a multi-stage node app: stages, names, places, originals, exec and shell forms', () => {
    const text = [
      '# syntax=docker/dockerfile:1',
      'FROM node:20-alpine AS build',
      'WORKDIR /app',
      'COPY package*.json ./',
      'RUN npm ci',
      'COPY . .',
      'RUN npm run build',
      '',
      'FROM node:20-alpine',
      'ENV NODE_ENV=production',
      'WORKDIR /app',
      'COPY --from=build /app/dist ./dist',
      '  COPY --from=build --chown=node:node /app/node_modules ./node_modules',
      'USER node',
      'EXPOSE 3000',
      'CMD ["node","dist/server.js"]',
    ].join('\n');
    const at = (line: number, original: string, column = 1) => ({ line, column, endLine: line, original });
    expect(parse(text)).toEqual({
      escape: '\\',
      globalArgs: [],
      stages: [
        {
          name: 'build',
          from: { keyword: 'FROM', image: 'node:20-alpine', as: 'build', ...at(2, 'FROM node:20-alpine AS build') },
          instructions: [
            { keyword: 'WORKDIR', value: '/app', ...at(3, 'WORKDIR /app') },
            { keyword: 'COPY', sources: ['package*.json'], dest: './', ...COPY_DEFAULTS, ...at(4, 'COPY package*.json ./') },
            { keyword: 'RUN', command: { kind: 'shell', command: 'npm ci' }, mounts: [], ...at(5, 'RUN npm ci') },
            { keyword: 'COPY', sources: ['.'], dest: '.', ...COPY_DEFAULTS, ...at(6, 'COPY . .') },
            { keyword: 'RUN', command: { kind: 'shell', command: 'npm run build' }, mounts: [], ...at(7, 'RUN npm run build') },
          ],
        },
        {
          from: { keyword: 'FROM', image: 'node:20-alpine', ...at(9, 'FROM node:20-alpine') },
          instructions: [
            { keyword: 'ENV', pairs: [['NODE_ENV', 'production']], ...at(10, 'ENV NODE_ENV=production') },
            { keyword: 'WORKDIR', value: '/app', ...at(11, 'WORKDIR /app') },
            { keyword: 'COPY', sources: ['/app/dist'], dest: './dist', from: 'build', ...COPY_DEFAULTS, ...at(12, 'COPY --from=build /app/dist ./dist') },
            {
              keyword: 'COPY',
              sources: ['/app/node_modules'],
              dest: './node_modules',
              from: 'build',
              chown: 'node:node',
              ...COPY_DEFAULTS,
              ...at(13, 'COPY --from=build --chown=node:node /app/node_modules ./node_modules', 3),
            },
            { keyword: 'USER', value: 'node', ...at(14, 'USER node') },
            { keyword: 'EXPOSE', values: ['3000'], ...at(15, 'EXPOSE 3000') },
            { keyword: 'CMD', command: { kind: 'exec', argv: ['node', 'dist/server.js'] }, ...at(16, 'CMD ["node","dist/server.js"]') },
          ],
        },
      ],
    });
  });

  it('a python image: a global ARG used in FROM, ENV with several pairs, LABEL, ENTRYPOINT', () => {
    const df = parse(
      [
        'ARG VERSION=3.12',
        'FROM python:${VERSION}-slim',
        'ARG VERSION',
        'ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=off',
        'WORKDIR /srv',
        'COPY requirements.txt .',
        'RUN pip install -r requirements.txt',
        'LABEL org.opencontainers.image.title="my api" version=1.0',
        'ENTRYPOINT ["python", "-m", "api"]',
        '',
      ].join('\n'),
    );
    expect(df.globalArgs).toEqual([{ keyword: 'ARG', args: [{ name: 'VERSION', default: '3.12' }], line: 1, column: 1, endLine: 1, original: 'ARG VERSION=3.12' }]);
    expect(df.stages.map((s) => [s.name, bare(s.from)])).toEqual([[undefined, { keyword: 'FROM', image: 'python:${VERSION}-slim' }]]);
    const global = new Map(df.globalArgs.flatMap((a) => a.args.map((x) => [x.name, x.default!] as const)));
    expect(expandWord(df.stages[0]!.from.image, (n) => global.get(n))).toBe('python:3.12-slim');
    expect(df.stages[0]!.instructions.map(bare)).toEqual([
      { keyword: 'ARG', args: [{ name: 'VERSION' }] },
      { keyword: 'ENV', pairs: [['PYTHONDONTWRITEBYTECODE', '1'], ['PIP_NO_CACHE_DIR', 'off']] },
      { keyword: 'WORKDIR', value: '/srv' },
      { keyword: 'COPY', sources: ['requirements.txt'], dest: '.', ...COPY_DEFAULTS },
      { keyword: 'RUN', command: { kind: 'shell', command: 'pip install -r requirements.txt' }, mounts: [] },
      { keyword: 'LABEL', pairs: [['org.opencontainers.image.title', '"my api"'], ['version', '1.0']] },
      { keyword: 'ENTRYPOINT', command: { kind: 'exec', argv: ['python', '-m', 'api'] } },
    ]);
  });

  it('continuation lines: comment and blank lines inside are skipped, the rest joined as written', () => {
    const df = parse(
      [
        'FROM debian:bookworm',
        'RUN apt-get update \\',
        '    # the build tools',
        '    && apt-get install -y --no-install-recommends \\',
        '       build-essential \\  ',
        '',
        '       curl \\',
        '    && rm -rf /var/lib/apt/lists/*',
        'CMD ["bash"]',
      ].join('\n'),
    );
    const [run, cmd] = df.stages[0]!.instructions;
    const joined = 'apt-get update     && apt-get install -y --no-install-recommends        build-essential        curl     && rm -rf /var/lib/apt/lists/*';
    expect(run).toEqual({ keyword: 'RUN', command: { kind: 'shell', command: joined }, mounts: [], line: 2, column: 1, endLine: 8, original: `RUN ${joined}` });
    expect([cmd!.line, cmd!.endLine]).toEqual([9, 9]);
  });

  it('# escape=` : backtick continuations, backslashes in Windows paths are plain characters', () => {
    const df = parse(
      [
        '# escape=`',
        'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
        'WORKDIR C:\\app\\',
        'COPY bin\\Release\\ C:\\app\\',
        'RUN powershell -Command `',
        '    New-Item -ItemType Directory C:\\data ; `',
        '    Write-Host done',
        'ENV TOOLS=C:\\tools PATH="C:\\tools;C:\\Windows" NOTE=a`"b',
      ].join('\r\n'),
    );
    expect(df.escape).toBe('`');
    const ins = df.stages[0]!.instructions;
    expect(ins.map(bare)).toEqual([
      { keyword: 'WORKDIR', value: 'C:\\app\\' },
      { keyword: 'COPY', sources: ['bin\\Release\\'], dest: 'C:\\app\\', ...COPY_DEFAULTS },
      { keyword: 'RUN', command: { kind: 'shell', command: 'powershell -Command     New-Item -ItemType Directory C:\\data ;     Write-Host done' }, mounts: [] },
      { keyword: 'ENV', pairs: [['TOOLS', 'C:\\tools'], ['PATH', '"C:\\tools;C:\\Windows"'], ['NOTE', 'a`"b']] },
    ]);
    expect(ins.map((i) => [i.line, i.endLine])).toEqual([[3, 3], [4, 4], [5, 7], [8, 8]]);
    const env = ins[3]!.keyword === 'ENV' ? ins[3]!.pairs : [];
    expect(env.map(([, v]) => expandWord(v, () => undefined, df.escape))).toEqual(['C:\\tools', 'C:\\tools;C:\\Windows', 'a"b']);
  });

  it('without the directive a backslash at the end of a Windows path continues the line', () => {
    expect(body('WORKDIR C:\\app\\\nUSER admin')).toEqual([{ keyword: 'WORKDIR', value: 'C:\\appUSER admin' }]);
  });
});

describe('parser directives', () => {
  it('are read only at the very top, names in any case, syntax and check ignored', () => {
    expect(parse('# syntax=docker/dockerfile:1.7\n# check=skip=all\n#  ESCAPE = `\nFROM a\nRUN x `\n  y\n').escape).toBe('`');
    // after a comment, a blank line or an instruction, a directive is a comment
    expect(parse('# a comment\n# escape=`\nFROM a\n').escape).toBe('\\');
    expect(parse('\n# escape=`\nFROM a\n').escape).toBe('\\');
    expect(parse('FROM a\n# escape=`\n').escape).toBe('\\');
  });

  it('a repeated directive or an escape other than ` or \\ is an error at its line', () => {
    const twice = parseError('# escape=`\n# escape=\\\nFROM a\n');
    expect([twice.message, twice.line, twice.column]).toEqual(['/app/Dockerfile:2:1: only one escape parser directive can be used', 2, 1]);
    const bad = parseError('# escape=x\nFROM a\n');
    expect(bad.message).toBe("/app/Dockerfile:1:1: invalid escape token 'x' does not match ` or \\");
  });

  it('a byte-order mark and CRLF line ends are read as BuildKit reads them', () => {
    const df = parse('\uFEFF# escape=`\r\nFROM alpine\r\nRUN echo a `\r\n  b\r\n');
    expect(df.escape).toBe('`');
    expect(df.stages[0]!.instructions).toEqual([{ keyword: 'RUN', command: { kind: 'shell', command: 'echo a   b' }, mounts: [], line: 3, column: 1, endLine: 4, original: 'RUN echo a   b' }]);
  });

  it('an escaped escape at the end of a line does not continue it; a continuation at the end of the file ends the instruction', () => {
    expect(body('RUN echo a\\\\\nRUN echo b \\')).toEqual([
      { keyword: 'RUN', command: { kind: 'shell', command: 'echo a\\\\' }, mounts: [] },
      { keyword: 'RUN', command: { kind: 'shell', command: 'echo b' }, mounts: [] },
    ]);
  });
});

describe('heredocs', () => {
  it('RUN <<EOF runs the body as the script; the body keeps blank lines, comments and instruction-like lines', () => {
    const df = parse('FROM alpine\nRUN <<EOF\nset -e\n\n# a comment\nFROM scratch\nEOF\nUSER nobody\n');
    const [run, user] = df.stages[0]!.instructions;
    expect(run).toEqual({
      keyword: 'RUN',
      command: { kind: 'shell', command: 'set -e\n\n# a comment\nFROM scratch\n', heredoc: 'EOF' },
      mounts: [],
      line: 2,
      column: 1,
      endLine: 7,
      original: 'RUN <<EOF\nset -e\n\n# a comment\nFROM scratch\nEOF',
    });
    expect([user!.keyword, user!.line]).toEqual(['USER', 8]);
  });

  it('<<-EOF strips leading tabs of the body and of the closing line; flags come before it', () => {
    expect(body('RUN --mount=type=cache,target=/root/.cache <<-EOF\n\tpip install -r req.txt\n\t\techo done\n\tEOF')).toEqual([
      { keyword: 'RUN', command: { kind: 'shell', command: 'pip install -r req.txt\necho done\n', heredoc: 'EOF' }, mounts: ['type=cache,target=/root/.cache'] },
    ]);
  });

  it('RUN with other text around the heredoc hands the whole script to the shell', () => {
    expect(body("RUN python3 <<EOF\nprint('hi')\nEOF")).toEqual([{ keyword: 'RUN', command: { kind: 'shell', command: "python3 <<EOF\nprint('hi')\nEOF" }, mounts: [] }]);
    expect(body('RUN <<A cat - && cat <<-B\none\nA\n\ttwo\n\tB')).toEqual([
      { keyword: 'RUN', command: { kind: 'shell', command: '<<A cat - && cat <<-B\none\nA\n\ttwo\nB' }, mounts: [] },
    ]);
  });

  it('COPY heredocs: expanded unless the delimiter is quoted, chomped with <<-, beside ordinary sources', () => {
    expect(body('COPY <<EOF <<"RAW" <<-\'TABS\' ./more.conf /etc/app/\nhome=$HOME\nEOF\nhome=$HOME\nRAW\n\tindented\n\tTABS')).toEqual([
      {
        keyword: 'COPY',
        sources: ['./more.conf'],
        dest: '/etc/app/',
        ...COPY_DEFAULTS,
        heredocs: [
          { name: 'EOF', body: 'home=$HOME\n', chomp: false, expand: true },
          { name: 'RAW', body: 'home=$HOME\n', chomp: false, expand: false },
          { name: 'TABS', body: 'indented\n', chomp: true, expand: false },
        ],
      },
    ]);
  });

  it('expandHeredoc expands variables and keeps quotes as they are', () => {
    expect(expandHeredoc('home="$HOME" \'${USER:-me}\' \\$HOME\n', vars({ HOME: '/root' }))).toBe('home="/root" \'me\' $HOME\n');
  });

  it('the exec form takes no heredoc; ONBUILD keeps the body in its trigger', () => {
    expect(body('RUN ["<<EOF"]\nUSER x')).toEqual([
      { keyword: 'RUN', command: { kind: 'exec', argv: ['<<EOF'] }, mounts: [] },
      { keyword: 'USER', value: 'x' },
    ]);
    expect(body('ONBUILD RUN <<EOF\necho hi\nEOF')).toEqual([{ keyword: 'ONBUILD', trigger: 'RUN <<EOF\necho hi\nEOF' }]);
  });

  it('an unterminated heredoc, or a heredoc as destination, is an error at the instruction', () => {
    expect(bodyError('RUN <<EOF\necho hi\nEOFF')).toEqual({ at: '2:1', message: 'unterminated heredoc: no line "EOF" ends it', hint: 'end the heredoc with a line holding only EOF' });
    expect(bodyError('COPY a.txt <<EOF\nx\nEOF')).toEqual({ at: '2:1', message: 'COPY cannot accept a heredoc as a destination', hint: 'write COPY <<EOF <destination>' });
  });
});

describe('HEALTHCHECK', () => {
  it('flags before CMD, in shell or exec form; NONE; keywords in any case', () => {
    expect(
      body(
        [
          'HEALTHCHECK --interval=30s --timeout=5s --start-period=1m30s --start-interval=500ms --retries=3 \\',
          '  CMD curl -f http://localhost:3000/health || exit 1',
          'HEALTHCHECK CMD ["pg_isready", "-U", "postgres"]',
          'healthcheck cmd   true',
          'HEALTHCHECK NONE',
        ].join('\n'),
      ),
    ).toEqual([
      {
        keyword: 'HEALTHCHECK',
        none: false,
        command: { kind: 'shell', command: 'curl -f http://localhost:3000/health || exit 1' },
        interval: '30s',
        timeout: '5s',
        startPeriod: '1m30s',
        startInterval: '500ms',
        retries: '3',
      },
      { keyword: 'HEALTHCHECK', none: false, command: { kind: 'exec', argv: ['pg_isready', '-U', 'postgres'] } },
      { keyword: 'HEALTHCHECK', none: false, command: { kind: 'shell', command: 'true' } },
      { keyword: 'HEALTHCHECK', none: true },
    ]);
  });

  it.each([
    ['HEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
    ['HEALTHCHECK NONE now', 'HEALTHCHECK NONE takes no arguments'],
    ['HEALTHCHECK CONNECT TCP 7000', 'unknown HEALTHCHECK type "CONNECT"'],
    ['HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK CMD []', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK --interval=5 CMD true', 'HEALTHCHECK --interval: invalid duration "5"'],
    ['HEALTHCHECK --timeout=500us CMD true', 'HEALTHCHECK --timeout cannot be less than 1ms'],
    ['HEALTHCHECK --retries=-1 CMD true', 'HEALTHCHECK --retries cannot be negative (-1)'],
    ['HEALTHCHECK --retries=three CMD true', 'HEALTHCHECK --retries: invalid number "three"'],
    ['HEALTHCHECK --interval CMD true', 'missing a value on flag: --interval'],
  ])('%s: %s', (line, message) => {
    expect(bodyError(line)).toMatchObject({ at: '2:1', message });
  });

  it('a misspelt flag names the instruction and the likely flag', () => {
    expect(bodyError('HEALTHCHECK --intervl=5s CMD true')).toEqual({ at: '2:1', message: 'unknown flag --intervl for HEALTHCHECK', hint: 'did you mean --interval?' });
  });
});

describe('exec and shell forms', () => {
  it('a valid JSON array of strings is the exec form; anything else falls back to the shell form', () => {
    expect(body('CMD [node]\nCMD ["a", \'b\']\nCMD ["unterminated"\nENTRYPOINT []\nCMD  [ "x" , "y z" ]  ')).toEqual([
      { keyword: 'CMD', command: { kind: 'shell', command: '[node]' } },
      { keyword: 'CMD', command: { kind: 'shell', command: '["a", \'b\']' } },
      { keyword: 'CMD', command: { kind: 'shell', command: '["unterminated"' } },
      { keyword: 'ENTRYPOINT', command: { kind: 'exec', argv: [] } },
      { keyword: 'CMD', command: { kind: 'exec', argv: ['x', 'y z'] } },
    ]);
  });

  it('a JSON array holding other than strings is an error', () => {
    expect(bodyError('CMD ["sleep", 5]')).toEqual({ at: '2:1', message: 'when using JSON array syntax, arrays must be comprised of strings only', hint: 'quote each element: ["npm", "start"]' });
  });

  it('SHELL takes only a JSON array', () => {
    expect(body('SHELL ["/bin/bash", "-o", "pipefail", "-c"]')).toEqual([{ keyword: 'SHELL', argv: ['/bin/bash', '-o', 'pipefail', '-c'] }]);
    expect(bodyError('SHELL /bin/bash -c')).toEqual({ at: '2:1', message: 'SHELL requires the arguments to be in JSON form', hint: 'write SHELL ["/bin/bash","-c"]' });
    expect(bodyError('SHELL []').message).toBe('SHELL requires at least one argument');
  });

  it('VOLUME and EXPOSE: a JSON array or words; COPY and ADD: JSON for paths with spaces', () => {
    expect(body('VOLUME ["/data", "/var/log app"]\nVOLUME /a   /b\nEXPOSE 80 443/tcp  ${PORT}\nCOPY ["my file.txt", "other one", "/dest dir/"]')).toEqual([
      { keyword: 'VOLUME', values: ['/data', '/var/log app'] },
      { keyword: 'VOLUME', values: ['/a', '/b'] },
      { keyword: 'EXPOSE', values: ['80', '443/tcp', '${PORT}'] },
      { keyword: 'COPY', sources: ['my file.txt', 'other one'], dest: '/dest dir/', ...COPY_DEFAULTS },
    ]);
    expect(bodyError('VOLUME ["/data", " "]').message).toBe('VOLUME specified can not be an empty string');
  });

  it('WORKDIR, USER, STOPSIGNAL and MAINTAINER take the rest of the line', () => {
    expect(body('WORKDIR /srv/my app\nUSER 1000:1000\nSTOPSIGNAL SIGQUIT\nMAINTAINER Jane Doe <jane@example.com>')).toEqual([
      { keyword: 'WORKDIR', value: '/srv/my app' },
      { keyword: 'USER', value: '1000:1000' },
      { keyword: 'STOPSIGNAL', value: 'SIGQUIT' },
      { keyword: 'MAINTAINER', value: 'Jane Doe <jane@example.com>' },
    ]);
  });

  it.each([
    ['RUN', 'RUN requires at least one argument'],
    ['RUN []', 'RUN requires at least one argument'],
    ['CMD', 'CMD requires at least one argument'],
    ['USER', 'USER requires exactly one argument'],
    ['EXPOSE', 'EXPOSE requires at least one argument'],
    ['VOLUME', 'VOLUME requires at least one argument'],
    ['COPY /dest/', 'COPY requires at least one source and a destination'],
    ['ADD', 'ADD requires at least one source and a destination'],
    ['ONBUILD', 'ONBUILD requires at least one argument'],
  ])('%s: %s', (line, message) => {
    expect(bodyError(line)).toMatchObject({ at: '2:1', message });
  });
});

describe('ENV, LABEL and ARG', () => {
  it('name=value words keep their quotes and escapes raw; the legacy form takes the rest of the line', () => {
    expect(body('ENV A="x y" B=a\\ b C=\'$HOME\' D= E=${A:-z}\nENV PATH /usr/local/bin:$PATH\nENV GREETING hello   big "world"\nLABEL a=1 "com.example.name"="my app"\nLABEL maintainer someone')).toEqual([
      { keyword: 'ENV', pairs: [['A', '"x y"'], ['B', 'a\\ b'], ['C', "'$HOME'"], ['D', ''], ['E', '${A:-z}']] },
      { keyword: 'ENV', pairs: [['PATH', '/usr/local/bin:$PATH']] },
      { keyword: 'ENV', pairs: [['GREETING', 'hello   big "world"']] },
      { keyword: 'LABEL', pairs: [['a', '1'], ['"com.example.name"', '"my app"']] },
      { keyword: 'LABEL', pairs: [['maintainer', 'someone']] },
    ]);
    const values = ['"x y"', 'a\\ b', "'$HOME'", '"com.example.name"'].map((w) => expandWord(w, vars({ HOME: '/root' })));
    expect(values).toEqual(['x y', 'a b', '$HOME', 'com.example.name']);
  });

  it('ARG takes names and names with defaults, several per line', () => {
    expect(body('ARG A B=2 C="x y" D=')).toEqual([{ keyword: 'ARG', args: [{ name: 'A' }, { name: 'B', default: '2' }, { name: 'C', default: '"x y"' }, { name: 'D', default: '' }] }]);
  });

  it.each([
    ['ENV A=1 B', 'Syntax error - can\'t find = in "B". Must be of the form: name=value'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV ONLYKEY', 'ENV must have two arguments'],
    ['ENV =x', 'ENV names can not be blank'],
    ['LABEL a=1 =2', 'LABEL names can not be blank'],
    ['ARG', 'ARG requires at least one argument'],
    ['ARG =x', 'ARG names can not be blank'],
  ])('%s: %s', (line, message) => {
    expect(bodyError(line)).toMatchObject({ at: '2:1', message });
  });
});

describe('FROM', () => {
  it('AS in any case names the stage, lowercased; --platform is kept raw', () => {
    const df = parse('from --platform=$BUILDPLATFORM golang:1.22 as Builder\nFROM builder AS a.b-c_d\nFROM scratch\n');
    expect(df.stages.map((s) => [s.name, bare(s.from)])).toEqual([
      ['builder', { keyword: 'FROM', image: 'golang:1.22', as: 'builder', platform: '$BUILDPLATFORM' }],
      ['a.b-c_d', { keyword: 'FROM', image: 'builder', as: 'a.b-c_d' }],
      [undefined, { keyword: 'FROM', image: 'scratch' }],
    ]);
  });

  it.each([
    ['FROM alpine AS 1st', 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM alpine AS my$stage', 'invalid name for build stage: "my$stage", name can\'t start with a number or contain symbols'],
    ['FROM alpine AS', 'FROM requires either one or three arguments'],
    ['FROM alpine base', 'FROM requires either one or three arguments'],
    ['FROM alpine AS a b', 'FROM requires either one or three arguments'],
    ['FROM', 'FROM requires either one or three arguments'],
  ])('%s: %s', (line, message) => {
    expect(parseError(`${line}\n`).message).toBe(`${FILE}:1:1: ${message}`);
  });

  it('ARG is the only instruction before the first FROM; no FROM at all is an error at line 1', () => {
    const before = parseError('ARG A=1\n\nRUN echo hi\nFROM alpine\n');
    expect([before.message, before.hint]).toEqual([`${FILE}:3:1: no FROM before RUN`, 'a Dockerfile starts with FROM; only ARG may come before the first FROM']);
    expect(parseError('').message).toBe(`${FILE}:1:1: no FROM instruction`);
    expect(parseError('# only a comment\n\n').message).toBe(`${FILE}:1:1: no FROM instruction`);
    expect(parseError('ARG A=1\n').message).toBe(`${FILE}:1:1: no FROM instruction`);
  });
});

describe('flags', () => {
  it('COPY and ADD: every flag they take, booleans with or without a value, --exclude repeated, -- ends the flags', () => {
    expect(
      body(
        [
          'COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tests/ src/ /app/',
          'COPY --link=false --parents=TRUE -- --weird-name /dest',
          'ADD --keep-git-dir=true --checksum=sha256:24454f83 --link https://example.com/x.tar.gz /x/',
          'ADD --chown=1000 --chmod=644 --exclude=.git a b',
        ].join('\n'),
      ),
    ).toEqual([
      { keyword: 'COPY', sources: ['src/'], dest: '/app/', from: 'build', chown: 'app:app', chmod: '0755', ...COPY_DEFAULTS, link: true, parents: true, exclude: ['*.md', 'tests/'] },
      { keyword: 'COPY', sources: ['--weird-name'], dest: '/dest', ...COPY_DEFAULTS, parents: true },
      { keyword: 'ADD', sources: ['https://example.com/x.tar.gz'], dest: '/x/', checksum: 'sha256:24454f83', ...COPY_DEFAULTS, link: true, keepGitDir: true },
      { keyword: 'ADD', sources: ['a'], dest: 'b', chown: '1000', chmod: '644', ...COPY_DEFAULTS, exclude: ['.git'] },
    ]);
  });

  it('RUN: --mount repeated, --network; quotes in a flag are removed', () => {
    expect(body('RUN --mount=type=cache,target=/root/.npm --mount="type=bind,source=a b,target=/x" --network=none npm ci')).toEqual([
      { keyword: 'RUN', command: { kind: 'shell', command: 'npm ci' }, network: 'none', mounts: ['type=cache,target=/root/.npm', 'type=bind,source=a b,target=/x'] },
    ]);
  });

  it.each([
    ['RUN --security=insecure make', 'RUN --security=insecure is not supported', 'stack runs every build step unprivileged; remove the flag'],
    ['RUN --network=bridge make', 'invalid network mode "bridge" for RUN --network', 'use --network=default, none or host'],
    ['RUN --mout=type=cache,target=/x make', 'unknown flag --mout for RUN', 'did you mean --mount?'],
    ['RUN --device=/dev/fuse make', 'unknown flag --device for RUN', 'RUN takes --mount, --network, --security'],
    ['ADD --from=build a b', 'unknown flag --from for ADD', 'ADD takes --chown, --chmod, --link, --keep-git-dir, --checksum, --exclude'],
    ['COPY --keep-git-dir a b', 'unknown flag --keep-git-dir for COPY', 'COPY takes --from, --chown, --chmod, --link, --parents, --exclude'],
    ['ENV --foo=1 A=b', 'unknown flag --foo for ENV', 'ENV takes no flags'],
    ['COPY --from a b', 'missing a value on flag: --from', 'write --from=<value>'],
    ['COPY --link= a b', 'missing a value on flag: --link', 'write --link or --link=false'],
    ['COPY --link=maybe a b', 'expecting boolean value for flag --link, not: maybe', undefined],
    ['COPY --from=a --from=b x y', 'duplicate flag specified: --from', undefined],
  ])('%s: %s', (line, message, hint) => {
    expect(bodyError(line)).toEqual({ at: '2:1', message, hint });
  });

  it('FROM: a misspelt --platform', () => {
    const e = parseError('FROM --plaform=linux/amd64 alpine\n');
    expect([e.message, e.hint]).toEqual([`${FILE}:1:1: unknown flag --plaform for FROM`, 'did you mean --platform?']);
  });
});

describe('errors', () => {
  it('an unknown instruction: a DockerfileError at its line and column with a did-you-mean', () => {
    const e = parseError('FORM alpine\n');
    expect(e).toBeInstanceOf(UserError);
    expect([e.code, e.message, e.hint, e.file, e.line, e.column]).toEqual(['DOCKERFILE_INVALID', `${FILE}:1:1: unknown instruction: FORM`, 'did you mean FROM?', FILE, 1, 1]);
    expect(bodyError('\n  coppy a b')).toEqual({ at: '3:3', message: 'unknown instruction: coppy', hint: 'did you mean COPY?' });
    expect(bodyError('RUN true\nENTRYPONT ["x"]').hint).toBe('did you mean ENTRYPOINT?');
  });

  it('a line that should have continued the one above says so', () => {
    expect(bodyError('RUN apk add curl\n    && rm -rf /var/cache/apk')).toEqual({
      at: '3:5',
      message: 'unknown instruction: &&',
      hint: 'if this line continues the instruction above, end that line with \\',
    });
    expect(bodyError('XYZZY plugh').hint).toBeUndefined();
  });

  it('an error in a continued instruction is placed at its first line', () => {
    expect(bodyError('RUN true\nCOPY --chmod \\\n  a \\\n  b')).toMatchObject({ at: '3:1', message: 'missing a value on flag: --chmod' });
  });

  it('ONBUILD keeps its trigger raw, refusing ONBUILD, FROM and MAINTAINER triggers', () => {
    expect(body('ONBUILD   COPY --chown=app . /app\nonbuild RUN make')).toEqual([
      { keyword: 'ONBUILD', trigger: 'COPY --chown=app . /app' },
      { keyword: 'ONBUILD', trigger: 'RUN make' },
    ]);
    expect(bodyError('ONBUILD ONBUILD RUN x').message).toBe("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    expect(bodyError('ONBUILD from alpine').message).toBe("FROM isn't allowed as an ONBUILD trigger");
    expect(bodyError('ONBUILD MAINTAINER me').message).toBe("MAINTAINER isn't allowed as an ONBUILD trigger");
  });
});

describe('expandWord', () => {
  const lookup = vars({ NAME: 'world', EMPTY: '', FILE: 'archive.tar.gz', SP: 'a  b', URL: 'http://x.org/a/b' });

  it.each([
    ['hello $NAME', 'hello world'],
    ['${NAME}s', 'worlds'],
    ['"$NAME and ${NAME}"', 'world and world'],
    ["'$NAME ${NAME}'", '$NAME ${NAME}'],
    ['\\$NAME', '$NAME'],
    ['"\\$NAME"', '$NAME'],
    ['\\\\$NAME', '\\world'],
    ['$UNSET-x', '-x'],
    ['${UNSET}', ''],
    ['$', '$'],
    ['a$.b', 'a$.b'],
    ['$1x', 'x'],
    ['a\\ b', 'a b'],
    ['it\\\'s', "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"C:\\path"', 'C:\\path'],
    ['"a\'b"', "a'b"],
    ["'a\\nb'", 'a\\nb'],
    ['trailing\\', 'trailing'],
    ['"${SP}"', 'a  b'],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${UNSET-dflt}', 'dflt'],
    ['${NAME:-dflt}', 'world'],
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${EMPTY?}', ''],
    ['${NAME:?}', 'world'],
    ['${UNSET:-${NAME}}', 'world'],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
    ['${NAME:+[${NAME}]}', '[world]'],
    ['${UNSET:-a b}', 'a b'],
    ['${UNSET:-\\$NAME}', '$NAME'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#nomatch}', 'archive.tar.gz'],
    ['${FILE%.t?r.gz}', 'archive'],
    ['${FILE#arch}', 'ive.tar.gz'],
    ['${URL#*://}', 'x.org/a/b'],
    ['${URL##*/}', 'b'],
    ['${UNSET#x}', ''],
    ['${FILE/.tar/-tar}', 'archive-tar.gz'],
    ['${FILE//a/A}', 'Archive.tAr.gz'],
    ['${URL//\\//_}', 'http:__x.org_a_b'],
  ])('%s → %s', (word, expanded) => {
    expect(expandWord(word, lookup)).toBe(expanded);
  });

  it.each([
    ['${UNSET?}', 'UNSET: is not allowed to be unset'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
    ['${EMPTY:?must be set}', 'EMPTY: must be set'],
    ['${UNSET?set UNSET for $NAME}', 'UNSET: set UNSET for world'],
    ['${NAME', "syntax error: missing '}'"],
    ['${NAME:-x', "syntax error: missing '}'"],
    ['${}', 'syntax error: bad substitution'],
    ['${:-x}', 'syntax error: bad substitution'],
    ['${NAME:=x}', 'unsupported modifier (:=) in substitution'],
    ['${NAME:#x}', 'unsupported modifier (:#) in substitution'],
    ['${NAME.x}', 'unsupported modifier (.) in substitution'],
    ['"open', 'unexpected end of statement while looking for matching double-quote'],
    ["'open", 'unexpected end of statement while looking for matching single-quote'],
    ['${FILE#\\x}', "invalid pattern (\\x) in substitution: invalid escape '\\x'"],
  ])('%s: %s', (word, message) => {
    let error: unknown;
    try {
      expandWord(word, lookup);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExpansionError);
    expect((error as ExpansionError).code).toBe('DOCKERFILE_INVALID');
    expect((error as ExpansionError).message).toBe(`failed to process ${JSON.stringify(word)}: ${message}`);
  });

  it('with ` as the escape character a backslash is plain', () => {
    expect(expandWord('C:\\dir\\$NAME', lookup, '`')).toBe('C:\\dir\\world');
    expect(expandWord('`$NAME', lookup, '`')).toBe('$NAME');
    expect(expandWord('"a`"b"', lookup, '`')).toBe('a"b');
  });

  it('expandWords splits on unquoted whitespace first, then expands each word (a value with spaces stays one word)', () => {
    expect(expandWords('80/tcp "8080 8081" ${PORT:-9000}  $SP \'$NAME\'', lookup)).toEqual(['80/tcp', '8080 8081', '9000', 'a  b', '$NAME']);
    expect(expandWords('a` b  c', lookup, '`')).toEqual(['a b', 'c']);
  });
});
