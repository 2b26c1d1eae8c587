package dev.keepalive.testkit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a client offered in its ClientHello, parsed from the raw bytes a plain-TCP test server
 * received (RFC 8446 section 4.1.2): the protocol versions of the supported_versions extension
 * and the SNI host name.
 */
public record TlsClientHello(
    int legacyVersion, List<String> supportedVersions, Optional<String> serverName) {
  private static final int HANDSHAKE = 22;
  private static final int CLIENT_HELLO = 1;
  private static final int EXT_SERVER_NAME = 0;
  private static final int EXT_SUPPORTED_VERSIONS = 43;

  /**
   * Parses the ClientHello at the start of {@code raw} (it may span several records).
   *
   * @throws IllegalArgumentException if the bytes hold no complete ClientHello
   */
  public static TlsClientHello parse(byte[] raw) {
    // join the handshake records' fragments
    ByteBuffer records = ByteBuffer.wrap(raw);
    java.io.ByteArrayOutputStream hs = new java.io.ByteArrayOutputStream();
    while (records.remaining() >= 5) {
      int type = records.get() & 0xff;
      records.getShort();
      int len = records.getShort() & 0xffff;
      if (type != HANDSHAKE || records.remaining() < len) {
        break;
      }
      hs.write(raw, records.position(), len);
      records.position(records.position() + len);
    }
    ByteBuffer b = ByteBuffer.wrap(hs.toByteArray());
    try {
      if ((b.get() & 0xff) != CLIENT_HELLO) {
        throw new IllegalArgumentException("not a ClientHello");
      }
      int bodyLen = u24(b);
      if (b.remaining() < bodyLen) {
        throw new IllegalArgumentException("incomplete ClientHello");
      }
      int legacyVersion = b.getShort() & 0xffff;
      b.position(b.position() + 32); // random
      skip(b, b.get() & 0xff); // legacy_session_id
      skip(b, b.getShort() & 0xffff); // cipher_suites
      skip(b, b.get() & 0xff); // legacy_compression_methods
      List<String> versions = new ArrayList<>();
      Optional<String> sni = Optional.empty();
      if (b.hasRemaining()) {
        int extEnd = (b.getShort() & 0xffff) + b.position();
        while (b.position() < extEnd) {
          int type = b.getShort() & 0xffff;
          int len = b.getShort() & 0xffff;
          ByteBuffer ext = b.slice(b.position(), len);
          skip(b, len);
          if (type == EXT_SUPPORTED_VERSIONS) {
            int n = ext.get() & 0xff;
            for (int i = 0; i < n / 2; i++) {
              versions.add(name(ext.getShort() & 0xffff));
            }
          } else if (type == EXT_SERVER_NAME) {
            ext.getShort(); // list length
            while (ext.remaining() >= 3) {
              int nameType = ext.get() & 0xff;
              byte[] name = new byte[ext.getShort() & 0xffff];
              ext.get(name);
              if (nameType == 0) {
                sni = Optional.of(new String(name, StandardCharsets.US_ASCII));
              }
            }
          }
        }
      }
      return new TlsClientHello(legacyVersion, List.copyOf(versions), sni);
    } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
      throw new IllegalArgumentException("incomplete ClientHello", e);
    }
  }

  private static int u24(ByteBuffer b) {
    return ((b.get() & 0xff) << 16) | ((b.get() & 0xff) << 8) | (b.get() & 0xff);
  }

  private static void skip(ByteBuffer b, int n) {
    b.position(b.position() + n);
  }

  /** "TLSv1.3" for 0x0304 and so on; GREASE and unknown values as hex. */
  private static String name(int version) {
    return switch (version) {
      case 0x0304 -> "TLSv1.3";
      case 0x0303 -> "TLSv1.2";
      case 0x0302 -> "TLSv1.1";
      case 0x0301 -> "TLSv1";
      case 0x0300 -> "SSLv3";
      default -> String.format("0x%04x", version);
    };
  }
}
