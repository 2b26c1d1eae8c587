package dev.keepalive.internal;

/**
 * The pool's record of one socket, for its whole life: CONNECTING, then LEASED and IDLE in turn,
 * then CLOSED. Decision data only: state, key, list links, timestamps, hand-out count and reuse
 * limits. The socket itself (channel, TLS, selection key) belongs to the I/O side, which the pool
 * never looks at: {@link #io} is opaque here.
 *
 * <p>Every field but {@link #io} is written by {@link Pool} (and its lists, {@link IdleSlots} and
 * {@link SlotList}) on the event loop only.
 */
final class Slot extends LongHeap.Node {
  enum State {
    CONNECTING,
    LEASED,
    IDLE,
    /** Taken from the pool for a request and under its health check ({@link Pool#checked}). */
    CHECKING,
    CLOSED
  }

  final KeyState owner;
  State state = State.CONNECTING;
  /** The request this socket is being connected or health-checked for (CONNECTING, CHECKING). */
  Request request;
  /** When it last entered the pool (IDLE only), in clock nanos. */
  long idleSince;
  /**
   * While idle, when its deadline comes before its keep-alive does: the clock instant after which
   * it is not handed out again, the earlier of its holder's reuse limit
   * ({@code Connection.keepAliveTimeout}, for this idle period) and its {@link #retireAt}.
   * Meaningful only while it is in the pool's heap of such sockets ({@link #heapIndex} >= 0).
   */
  long reusableUntil;
  /**
   * When its own lifetime ends (the manager's maxLifetime, less its jitter, counted from the TCP
   * connect), in clock nanos; set when it connects, and only when lifetimes are on.
   */
  long retireAt;
  /** How many times it was handed out (its NEW hand-out included). */
  int handOuts;
  /**
   * Most hand-outs allowed (the manager's maxUses, lowered by {@code Connection.keepAliveMax});
   * given back at it, it is closed.
   */
  int maxHandOuts = Integer.MAX_VALUE;
  /**
   * When its TCP connect completed, in clock nanos (its age counts from there); meaningful once
   * it has connected (not CONNECTING).
   */
  long connectedAt;
  /**
   * Retired ({@code ConnectionManager.retire}): never handed out or pooled again; closed when
   * its holder gives it back (or, connecting, once the request it was opened for gives it back).
   */
  boolean retired;
  /**
   * Opened for its key's minimum of idle sockets (Pool.keepWarm) and not yet handed out: if the
   * peer closes it soon, that counts as a failed warm-up (backoff).
   */
  boolean warmed;

  // Links in its key's idle list (most recently used first).
  Slot keyPrev;
  Slot keyNext;
  // Links in the pool-wide list it is in: idle sockets by age (LRU first), or leased sockets.
  Slot prev;
  Slot next;

  /** The I/O side's socket; set once by the manager when the connect starts, opaque here. */
  Object io;

  Slot(KeyState owner) {
    this.owner = owner;
  }

  @Override
  public long heapKey() {
    return reusableUntil;
  }

  @Override
  public String toString() {
    return "Slot[" + owner.key + " " + state + "]";
  }
}
