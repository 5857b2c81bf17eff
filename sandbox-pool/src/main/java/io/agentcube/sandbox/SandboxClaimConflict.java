package io.agentcube.sandbox;

/**
 * A claim lost to another process (another replica bound the sandbox first): the caller tries
 * the next candidate. Stackless: it is an expected outcome, not a fault.
 */
public final class SandboxClaimConflict extends RuntimeException {

  public SandboxClaimConflict(String message) {
    super(message, null, false, false);
  }
}
