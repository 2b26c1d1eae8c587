package dev.keepalive.e2e;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/** The versions of the peer clients on the class path, read from their jars' metadata. */
final class Versions {
  private Versions() {}

  static Map<String, String> all() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(
        "keepalive-http",
        pom("dev.keepalive", "keepalive-http", dev.keepalive.http.HttpClient.class));
    m.put(
        "httpclient5",
        pom(
            "org.apache.httpcomponents.client5",
            "httpclient5",
            org.apache.hc.client5.http.impl.async.HttpAsyncClients.class));
    m.put(
        "httpcore5",
        pom(
            "org.apache.httpcomponents.core5",
            "httpcore5",
            org.apache.hc.core5.http.HttpRequest.class));
    m.put(
        "okhttp-jvm",
        implementation(okhttp3.OkHttpClient.class, "com.squareup.okhttp3", "okhttp-jvm"));
    m.put(
        "reactor-netty-http",
        implementation(
            reactor.netty.http.client.HttpClient.class,
            "io.projectreactor.netty",
            "reactor-netty-http"));
    m.put("netty", netty());
    m.put("java.net.http", System.getProperty("java.version"));
    return m;
  }

  static void print(PrintStream out) {
    all().forEach((k, v) -> out.println(k + " " + v));
  }

  private static String pom(String group, String artifact, Class<?> c) {
    String path = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = c.getResourceAsStream(path)) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "?");
      }
    } catch (Exception ignored) {
      // fall through
    }
    String v = c.getPackage().getImplementationVersion();
    return v != null ? v : "?";
  }

  private static String implementation(Class<?> c, String group, String artifact) {
    String v = pom(group, artifact, c);
    if (!"?".equals(v)) {
      return v;
    }
    // from the jar's file name in the class path: lib/okhttp-jvm-5.5.1.jar
    String where = String.valueOf(c.getProtectionDomain().getCodeSource().getLocation());
    int at = where.lastIndexOf(artifact + "-");
    if (at >= 0 && where.endsWith(".jar")) {
      return where.substring(at + artifact.length() + 1, where.length() - 4);
    }
    return "?";
  }

  private static String netty() {
    try {
      Map<String, io.netty.util.Version> v = io.netty.util.Version.identify();
      io.netty.util.Version codec = v.get("netty-codec-http");
      return codec != null ? codec.artifactVersion() : "?";
    } catch (Throwable t) {
      return "?";
    }
  }
}
