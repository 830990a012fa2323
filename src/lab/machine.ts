import { cpus, totalmem, release, platform } from 'node:os'
import { readFileSync } from 'node:fs'

export interface MachineDescription {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
}

export function describeMachine (): MachineDescription {
  let os = `${platform()} ${release()}`
  try {
    const pretty = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    if (pretty !== undefined) os = `${pretty} (kernel ${release()})`
  } catch {}
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    node: process.version,
  }
}
