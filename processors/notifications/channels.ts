import nodemailer from 'nodemailer';
import type { Config } from '../../lib/config';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { NotificationChannel } from '../../schemas/generated/events';

export interface Outgoing {
  notificationId: string;
  channel: NotificationChannel;
  to: string; // email address, webhook URL, or user id for the log channel
  subject: string | null;
  body: string;
  variables: Record<string, string>;
}

export class DeliveryError extends AppError {
  readonly retriable = true;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ChannelAdapter {
  send(n: Outgoing): Promise<{ providerMessageId: string | null }>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeliveryError('TIMEOUT', `${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** EMAIL over real SMTP (nodemailer). A 5xx answer is a rejection; no answer in time is a timeout. */
export function smtpChannel(url: string, from: string, timeoutMs: number): ChannelAdapter {
  const transport = nodemailer.createTransport(url, { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  return {
    async send(n) {
      try {
        const info = await withTimeout(
          transport.sendMail({ from, to: n.to, subject: n.subject ?? '(no subject)', text: n.body }),
          timeoutMs,
          'SMTP',
        );
        return { providerMessageId: info.messageId ?? null };
      } catch (e) {
        if (e instanceof DeliveryError) throw e;
        const err = e as { responseCode?: number; code?: string; message?: string };
        const code = err.responseCode ? `SMTP_${err.responseCode}` : (err.code ?? 'SMTP_ERROR');
        throw new DeliveryError(code, err.message ?? String(e));
      }
    },
  };
}

/** WEBHOOK: POST the notification as JSON; any non-2xx is a failure. */
export function webhookChannel(timeoutMs: number): ChannelAdapter {
  return {
    async send(n) {
      let res: Response;
      try {
        res = await fetch(n.to, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': n.notificationId },
          body: JSON.stringify({ notificationId: n.notificationId, subject: n.subject, body: n.body, variables: n.variables }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
        throw new DeliveryError(timedOut ? 'TIMEOUT' : 'WEBHOOK_UNREACHABLE', e instanceof Error ? e.message : String(e));
      }
      if (!res.ok) throw new DeliveryError(`WEBHOOK_${res.status}`, `webhook answered ${res.status}`);
      return { providerMessageId: res.headers.get('x-message-id') };
    },
  };
}

/** LOG: the notification is written to the structured log (local runs, and recipients without an address). */
export function logChannel(logger: Logger): ChannelAdapter {
  return {
    send(n) {
      logger.info('notification', { notificationId: n.notificationId, to: n.to, subject: n.subject, body: n.body });
      return Promise.resolve({ providerMessageId: null });
    },
  };
}

export type Channels = Record<NotificationChannel, ChannelAdapter>;

/** EMAIL falls back to the log channel when no SMTP server is configured. */
export function createChannels(config: Pick<Config, 'notifications'>, logger: Logger): Channels {
  const log = logChannel(logger);
  const n = config.notifications;
  return { EMAIL: n.smtpUrl ? smtpChannel(n.smtpUrl, n.from, n.timeoutMs) : log, WEBHOOK: webhookChannel(n.timeoutMs), LOG: log };
}
