import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { KAFKA_VERSION } from '../../deploy/local/install';

/** What the figures were measured on: a report without it cannot be compared with another. */
export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  java: string;
  kafka: string;
}

const read = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

export function describeMachine(): Machine {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(read('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const memKiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(read('/proc/meminfo'))?.[1] ?? os.totalmem() / 1024);
  const release = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(read('/etc/os-release'))?.[1] ?? os.type();
  // `java -version` writes to stderr; its first line names vendor and version.
  const javaOut = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const java = `${javaOut.stderr ?? ''}${javaOut.stdout ?? ''}`.trim().split('\n')[0] ?? 'not found';
  return {
    cpu: cpu.trim(),
    cores: os.cpus().length,
    ramGiB: memKiB / 1024 / 1024,
    os: `${release}, Linux ${os.release()}`,
    node: process.version,
    java,
    kafka: `Apache Kafka ${KAFKA_VERSION} (single KRaft node, local stack)`,
  };
}
