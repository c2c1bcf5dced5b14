/** pino's numeric levels, as people read them. */
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours per level: warnings and errors stand out in a scrolling terminal. */
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, or that the line's layout already shows. */
const LAYOUT_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'context', 'err', 'workerId', 'process']);

function value(field: unknown): string {
  if (typeof field === 'string') {
    return /[\s"=]/.test(field) || field === '' ? JSON.stringify(field) : field;
  }
  return JSON.stringify(field);
}

/**
 * One pino JSON line as a terminal line: `12:03:07 INFO  api worker-1: message key=value`, with
 * an error's stack below it. A line that is not JSON passes through unchanged.
 */
export function formatPrettyLine(line: string, colors: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  const paint = (code: string, text: string): string => (colors ? `\u001b[${code}m${text}\u001b[0m` : text);
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : '';
  const source = [record.service, record.workerId ?? record.process].filter((part) => typeof part === 'string').join(' ');
  const fields = Object.entries(record)
    .filter(([key, field]) => !LAYOUT_FIELDS.has(key) && field !== undefined)
    .map(([key, field]) => `${paint('90', `${key}=`)}${value(field)}`);
  const err = record.err as { message?: string; stack?: string } | undefined;
  const message = [typeof record.msg === 'string' ? record.msg : '', err?.message !== undefined && err.message !== record.msg ? `(${err.message})` : '']
    .filter((part) => part !== '')
    .join(' ');
  const head = `${paint('90', time)} ${paint(LEVEL_COLORS[level] ?? '0', (LEVEL_NAMES[level] ?? String(level)).padEnd(5))} ${source}: ${message}`;
  const stack = level >= 50 && typeof err?.stack === 'string' ? `\n${err.stack.replace(/^/gm, '    ')}` : '';
  return `${[head, ...fields].join(' ')}${stack}\n`;
}
