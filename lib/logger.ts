import winston from 'winston';
import type { Config } from './config';

export type Logger = winston.Logger;

/** One line a person reads: time, level, component, message, then the fields as key=value. */
export function textLine(info: Record<string, unknown>): string {
  const { timestamp, level, message, component, stack, ...fields } = info;
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const time = typeof timestamp === 'string' ? timestamp.slice(11, 23) : '';
  return [
    time,
    String(level).toUpperCase().padEnd(5),
    `[${String(component)}]`,
    String(message),
    rest,
    typeof stack === 'string' ? `\n${stack}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * Logs on stderr (stdout stays free for a command's own output): JSON lines for collectors, or text lines
 * for a person at a terminal (LOG_FORMAT, 'auto' by default: text on a terminal, JSON otherwise).
 */
export function createLogger(config: Pick<Config, 'log'>, component: string): Logger {
  const text = config.log.format === 'text' || (config.log.format === 'auto' && process.stderr.isTTY);
  return winston.createLogger({
    level: config.log.level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      text ? winston.format.printf((info) => textLine(info)) : winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
