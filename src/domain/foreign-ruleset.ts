/**
 * The port through which the service reads what other tools put in nftables: the whole ruleset as `nft -j list
 * ruleset` prints it. Learning checks its proposals against their static port forwards with it.
 */

/** Reads the whole nftables ruleset as JSON (`nft -j list ruleset`); rejects when it cannot. */
export type ForeignRuleset = () => Promise<unknown>;
