/** The time source of the service and the datapaths: milliseconds since the epoch (Date.now, or a test clock). */
export type Clock = () => number;
