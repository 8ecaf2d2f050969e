import { checkOptions } from './options';
import {
  DEFAULT_CAPABILITIES,
  type OptionSpec,
  type OptionValues,
  type Receiver,
  type ReceiverOptions,
  type Sender,
  type SenderOptions,
  type Transport,
  type TransportCapabilities,
} from './types';

/** What an adapter writes: a Transport whose ends get their options checked, with defaults. */
export interface TransportDefinition<S extends readonly OptionSpec[]> extends Omit<Transport, 'capabilities' | 'options' | 'createReceiver' | 'openSender'> {
  /** Only what differs from DEFAULT_CAPABILITIES. */
  readonly capabilities?: Partial<TransportCapabilities>;
  readonly options: S;
  createReceiver(opts: ReceiverOptions, options: OptionValues<S>): Promise<Receiver>;
  openSender(address: string, opts: SenderOptions, options: OptionValues<S>): Promise<Sender>;
}

/**
 * Makes a Transport from an adapter's definition: capabilities over the conservative
 * defaults, and both ends behind the one option check (options.ts), so no adapter can take an
 * option it does not declare.
 */
export function defineTransport<const S extends readonly OptionSpec[]>(def: TransportDefinition<S>): Transport {
  const { capabilities, createReceiver, openSender, ...rest } = def;
  return {
    ...rest,
    capabilities: { ...DEFAULT_CAPABILITIES, ...capabilities },
    createReceiver: async (opts) => createReceiver.call(def, opts, checkOptions(def.name, def.options, opts.options)),
    openSender: async (address, opts) => openSender.call(def, address, opts, checkOptions(def.name, def.options, opts.options)),
  };
}
