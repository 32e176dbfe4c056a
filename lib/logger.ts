import winston from 'winston';
import type { Config } from './config';

export type Logger = winston.Logger;

/** JSON logs on stderr (stdout stays free for a command's own output). */
export function createLogger(config: Pick<Config, 'log'>, component: string): Logger {
  return winston.createLogger({
    level: config.log.level,
    defaultMeta: { component },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
