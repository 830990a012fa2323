import pino from 'pino'

/**
 * Logger of the adapters, which are built from configuration alone and get no logger passed in.
 * Same level switch as the process logger.
 */
export const adapterLog = pino({ level: process.env.OUTGROW_LOG_LEVEL ?? 'warn', base: { component: 'adapters' } })
