package dev.keepalive.http;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Header fields of a request, a response or a response's trailers: an immutable list of
 * name/value pairs in the order they were given or received. Look-ups by name ignore case.
 */
public final class HttpHeaders {
  private static final HttpHeaders EMPTY = new HttpHeaders(new String[0]);

  /** name0, value0, name1, value1, ... */
  private final String[] pairs;

  private HttpHeaders(String[] pairs) {
    this.pairs = pairs;
  }

  /** Wraps a list of alternating names and values without copying (the caller gives it up). */
  static HttpHeaders wrap(List<String> nameValuePairs) {
    if (nameValuePairs == null || nameValuePairs.isEmpty()) {
      return EMPTY;
    }
    return new HttpHeaders(nameValuePairs.toArray(new String[0]));
  }

  /** No fields. */
  public static HttpHeaders empty() {
    return EMPTY;
  }

  /**
   * Fields from alternating names and values: {@code of("Content-Type", "text/plain", "X-A", "1")}.
   *
   * @throws IllegalArgumentException if the count is odd or an element is null
   */
  public static HttpHeaders of(String... nameValuePairs) {
    if (nameValuePairs == null || nameValuePairs.length % 2 != 0) {
      throw new IllegalArgumentException("nameValuePairs must hold names and values in pairs");
    }
    for (String s : nameValuePairs) {
      if (s == null) {
        throw new IllegalArgumentException("nameValuePairs must not contain null");
      }
    }
    return nameValuePairs.length == 0 ? EMPTY : new HttpHeaders(nameValuePairs.clone());
  }

  /** The first value of field {@code name} (any case), or null when there is none. */
  public String first(String name) {
    requireName(name);
    for (int i = 0; i < pairs.length; i += 2) {
      if (pairs[i].equalsIgnoreCase(name)) {
        return pairs[i + 1];
      }
    }
    return null;
  }

  /** Every value of field {@code name} (any case), in order; empty when there is none. */
  public List<String> all(String name) {
    requireName(name);
    List<String> values = null;
    for (int i = 0; i < pairs.length; i += 2) {
      if (pairs[i].equalsIgnoreCase(name)) {
        if (values == null) {
          values = new ArrayList<>(2);
        }
        values.add(pairs[i + 1]);
      }
    }
    return values == null ? List.of() : Collections.unmodifiableList(values);
  }

  /** True when field {@code name} (any case) is present. */
  public boolean contains(String name) {
    return first(name) != null;
  }

  /** The field names, each once (spelled as first seen), in order of first appearance. */
  public Set<String> names() {
    Set<String> seen = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < pairs.length; i += 2) {
      if (seen.add(pairs[i])) {
        names.add(pairs[i]);
      }
    }
    return Collections.unmodifiableSet(names);
  }

  /**
   * Every field as name → values, unmodifiable; its keys compare ignoring case, so
   * {@code map().get("content-type")} finds "Content-Type".
   */
  public Map<String, List<String>> map() {
    Map<String, List<String>> map = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 0; i < pairs.length; i += 2) {
      map.computeIfAbsent(pairs[i], k -> new ArrayList<>(1)).add(pairs[i + 1]);
    }
    map.replaceAll((k, v) -> Collections.unmodifiableList(v));
    return Collections.unmodifiableMap(map);
  }

  /** The number of fields (a repeated name counts each time). */
  public int size() {
    return pairs.length / 2;
  }

  public boolean isEmpty() {
    return pairs.length == 0;
  }

  /** Name of field {@code i} (0-based, in order). */
  String nameAt(int i) {
    return pairs[2 * i];
  }

  /** Value of field {@code i}. */
  String valueAt(int i) {
    return pairs[2 * i + 1];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HttpHeaders && Arrays.equals(pairs, ((HttpHeaders) o).pairs);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(pairs);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    for (int i = 0; i < pairs.length; i += 2) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(pairs[i]).append(": ").append(pairs[i + 1]);
    }
    return sb.append('}').toString();
  }

  private static void requireName(String name) {
    if (name == null) {
      throw new IllegalArgumentException("name must not be null");
    }
  }
}
