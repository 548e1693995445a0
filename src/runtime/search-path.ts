// Docker's PATH, in a module of its own: the firewall's search for nft and iptables needs it, and
// its launch-side home (launcher-config.ts) would bring the view's code along.

/** Docker's PATH for a container whose environment sets none; used only to find the command. */
export const DEFAULT_SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
