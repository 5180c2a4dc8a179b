/**
 * A Dockerfile read into instructions, and the hadolint-style rules deploy/docker/Dockerfile must
 * pass (there is no Docker engine or hadolint here; test/deploy/docker.test.ts runs them on the file
 * and on a bad sample each, so every rule is seen to fire). Rule ids follow hadolint's where one exists.
 * @module
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY … */
  op: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
  line: number;
  /** Index of the stage (FROM) it belongs to; -1 before the first FROM (ARG). */
  stage: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let stage = -1;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const start = i + 1;
    if (!line.trim() || line.trim().startsWith('#')) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped, as Docker does.
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      line = line.trimEnd().slice(0, -1) + ' ';
      const next = lines[++i]!;
      if (!next.trim().startsWith('#')) line += next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${start}: not an instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.trim(), line: start, stage });
  }
  return out;
}

export interface Problem {
  rule: string;
  line: number;
  message: string;
}

const isExecForm = (args: string): boolean => {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
};

/** The image of a FROM (`--platform` and `AS name` left out). */
const fromImage = (args: string): { image: string; alias: string | null } => {
  const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
  const as = words.findIndex((w) => w.toUpperCase() === 'AS');
  return { image: words[0]!, alias: as > 0 ? (words[as + 1] ?? null) : null };
};

/** Every rule; an empty list is a pass. */
export function lintDockerfile(text: string): Problem[] {
  const ins = parseDockerfile(text);
  const problems: Problem[] = [];
  const add = (rule: string, at: Instruction | number, message: string): void => void problems.push({ rule, line: typeof at === 'number' ? at : at.line, message });
  const froms = ins.filter((i) => i.op === 'FROM');
  const aliases = new Set<string>();
  for (const f of froms) {
    const { image, alias } = fromImage(f.args);
    if (!aliases.has(image)) {
      // DL3006/DL3007: a pinned release tag (x.y.z) or a digest, never latest or a moving tag.
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      if (!digest && !tag) add('DL3006', f, `FROM ${image}: no tag`);
      else if (tag === 'latest') add('DL3007', f, `FROM ${image}: latest`);
      else if (!digest && !/^v?\d+\.\d+\.\d+/.test(tag!)) add('pinned-tag', f, `FROM ${image}: tag ${tag} moves (pin a full x.y.z release)`);
    }
    if (alias) aliases.add(alias);
  }
  if (froms.length < 2) add('multi-stage', 1, 'one stage: build with the dev dependencies, run without them');
  const last = froms.length - 1;
  const final = ins.filter((i) => i.stage === last);
  for (const i of ins) {
    if (i.op === 'ADD') add('DL3020', i, 'ADD: use COPY');
    if (i.op === 'MAINTAINER') add('DL4000', i, 'MAINTAINER is deprecated');
    if ((i.op === 'CMD' || i.op === 'ENTRYPOINT') && !isExecForm(i.args)) add('DL3025', i, `${i.op} in shell form: signals reach a shell, not Node`);
    if (i.op === 'RUN' && /\bapt-get\s+(-\S+\s+)*install\b/.test(i.args)) {
      if (!/--no-install-recommends/.test(i.args)) add('DL3015', i, 'apt-get install without --no-install-recommends');
      if (!/\s-y\b|--yes|--assume-yes/.test(i.args)) add('DL3014', i, 'apt-get install without -y');
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(i.args)) add('DL3009', i, 'apt-get lists left in the layer (rm -rf /var/lib/apt/lists/*)');
    }
    if (i.op === 'RUN' && /\bapt\s+install\b/.test(i.args)) add('DL3027', i, 'apt in a script: use apt-get');
    if (i.op === 'RUN' && /\bsudo\b/.test(i.args)) add('DL3004', i, 'sudo in a RUN');
    if (i.op === 'WORKDIR' && !i.args.startsWith('/')) add('DL3000', i, 'WORKDIR must be absolute');
  }
  // DL3002: the image runs as an unprivileged user, given by number so runAsNonRoot can check it.
  const users = final.filter((i) => i.op === 'USER');
  const user = users.at(-1)?.args.split(':')[0];
  if (!user) add('DL3002', froms.at(-1)?.line ?? 1, 'the final stage sets no USER: it runs as root');
  else if (user === 'root' || user === '0') add('DL3002', users.at(-1)!, 'the last USER is root');
  else if (!/^\d+$/.test(user)) add('numeric-user', users.at(-1)!, `USER ${user}: give the uid (Kubernetes runAsNonRoot cannot check a name)`);
  const health = final.filter((i) => i.op === 'HEALTHCHECK');
  if (!health.length) add('healthcheck', froms.at(-1)?.line ?? 1, 'no HEALTHCHECK in the final stage');
  for (const h of health) {
    const cmd = /\bCMD\s+(.*)$/.exec(h.args)?.[1];
    if (!cmd || !isExecForm(cmd)) add('healthcheck-exec', h, 'HEALTHCHECK CMD in shell form');
  }
  if (!final.some((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD')) add('entrypoint', froms.at(-1)?.line ?? 1, 'the final stage has no ENTRYPOINT/CMD');
  return problems;
}

/** Sources of the COPY instructions that read the build context (not `--from`), relative to it. */
export function contextSources(text: string): string[] {
  const out: string[] = [];
  for (const i of parseDockerfile(text)) {
    if (i.op !== 'COPY' || /--from=/.test(i.args)) continue;
    const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    out.push(...words.slice(0, -1));
  }
  return out;
}
