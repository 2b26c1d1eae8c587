package dev.keepalive.doccheck;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The docs cannot drift from the code: every code name and repo path that README.md, docs/*.md
 * and the {@code README.md} of each top-level folder cite must exist. Hand-written (under 200
 * lines, no library), with the same rules as the team's {@code shared/tools/docrefs.py}:
 *
 * <ul>
 *   <li>{@code Type#member} and {@code Type.member(} inside backticks, and {@code Type#member}
 *       anywhere, where Type starts upper-case and is the name of a {@code .java} file of the
 *       checkout (outside {@code target/}): the member must appear as a word in one of those
 *       files; a trailing {@code *} makes it a prefix ({@code ContractTest#poolKey*}). A Type
 *       that is no source file here (a JDK or library class) is not checked.
 *   <li>A backticked path of repo shape ({@code bench/run-e2e.sh}: at least one {@code /} and
 *       an extension of .java .sh .md .xml .py .png .txt .json) must exist, from the checkout's
 *       root, from the citing file's folder, or below any folder of the checkout.
 * </ul>
 *
 * Folders and files whose names start with a dot are not searched. The failure lists each dead
 * reference as {@code file:line: `reference`: why}.
 */
class DocReferencesTest {
  private static final int U = Pattern.UNICODE_CHARACTER_CLASS;
  private static final Pattern BACKTICKED = Pattern.compile("`([^`\\n]+)`", U);
  private static final Pattern MEMBER =
      Pattern.compile("\\b([A-Z][A-Za-z0-9_]*)[#.]([a-z][A-Za-z0-9_]*\\*?)", U);
  private static final Pattern HASH_MEMBER =
      Pattern.compile("\\b([A-Z][A-Za-z0-9_]*)#([a-z][A-Za-z0-9_]*\\*?)", U);
  private static final Pattern REPO_PATH =
      Pattern.compile("^((?:[\\w.-]+/)+[\\w.-]+\\.(?:java|sh|md|xml|py|png|txt|json))$", U);

  private final Path root =
      Path.of(System.getProperty("doccheck.root", "..")).toAbsolutePath().normalize();
  private final List<String> tree = walk(); // every file and folder, relative, with '/'
  private final Map<String, List<Path>> javaByType = new HashMap<>();
  private final Map<Path, String> sources = new HashMap<>();

  /** A citation: the text in backticks (or Type#member alone), its type and member. */
  private record Ref(String code, String type, String member) {}

  @Test
  void everyCitedNameAndPathExists() throws IOException {
    for (String rel : tree) {
      if (rel.endsWith(".java") && !("/" + rel).contains("/target/")) {
        String file = rel.substring(rel.lastIndexOf('/') + 1);
        javaByType
            .computeIfAbsent(file.substring(0, file.length() - 5), k -> new ArrayList<>())
            .add(root.resolve(rel));
      }
    }
    int checked = 0;
    List<String> dead = new ArrayList<>();
    for (Path doc : docs()) {
      String text = Files.readString(doc, StandardCharsets.UTF_8);
      String where = root.relativize(doc).toString().replace('\\', '/');
      Map<Ref, Integer> refs = new LinkedHashMap<>(); // first place of each, as docrefs.py
      for (Matcher b = BACKTICKED.matcher(text); b.find(); ) {
        for (Matcher m = MEMBER.matcher(b.group(1)); m.find(); ) {
          refs.putIfAbsent(new Ref(b.group(1), m.group(1), m.group(2)), b.start());
        }
      }
      for (Matcher m = HASH_MEMBER.matcher(text); m.find(); ) {
        refs.putIfAbsent(new Ref(m.group(1) + "#" + m.group(2), m.group(1), m.group(2)), m.start());
      }
      for (Map.Entry<Ref, Integer> e : refs.entrySet()) {
        Ref r = e.getKey();
        List<Path> files = javaByType.get(r.type());
        if (files == null) {
          continue; // not a type of this repo
        }
        checked++;
        String name = r.member().endsWith("*")
            ? r.member().substring(0, r.member().length() - 1)
            : r.member();
        Pattern word = Pattern.compile(
            "\\b" + Pattern.quote(name) + (r.member().endsWith("*") ? "\\w*" : "\\b"), U);
        if (files.stream().noneMatch(f -> word.matcher(source(f)).find())) {
          dead.add(where + ":" + line(text, e.getValue()) + ": `" + r.code() + "`: " + r.type()
              + " has no " + r.member());
        }
      }
      for (Matcher b = BACKTICKED.matcher(text); b.find(); ) {
        Matcher p = REPO_PATH.matcher(b.group(1).strip());
        if (p.find()) {
          checked++;
          if (!exists(p.group(1), doc.getParent())) {
            dead.add(where + ":" + line(text, b.start()) + ": `" + b.group(1) + "`: no such file");
          }
        }
      }
    }
    System.out.println(checked + " references checked, " + dead.size() + " missing");
    assertTrue(checked > 0, "no reference found under " + root + ": wrong doccheck.root?");
    if (!dead.isEmpty()) {
      fail(dead.size() + " dead reference(s) in the docs (of " + checked + " checked); fix the"
          + " doc or the code:\n  " + String.join("\n  ", dead));
    }
  }

  /** README.md, docs/*.md and every top-level folder's README.md. */
  private List<Path> docs() throws IOException {
    List<Path> docs = new ArrayList<>();
    docs.add(root.resolve("README.md"));
    for (String rel : tree) {
      String[] parts = rel.split("/");
      if (parts.length == 2
          && (parts[0].equals("docs") && parts[1].endsWith(".md")
              || parts[1].equals("README.md"))) {
        docs.add(root.resolve(rel));
      }
    }
    docs.removeIf(d -> !Files.isRegularFile(d));
    return docs.stream().distinct().toList();
  }

  /** From the root, from the doc's folder, or from any folder below the root. */
  private boolean exists(String path, Path docFolder) {
    return Files.exists(root.resolve(path))
        || Files.exists(docFolder.resolve(path))
        || tree.stream()
            .map(root::resolve)
            .filter(Files::isDirectory)
            .anyMatch(dir -> Files.exists(dir.resolve(path)));
  }

  private String source(Path file) {
    return sources.computeIfAbsent(file, f -> {
      try {
        return Files.readString(f, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private static int line(String text, int offset) {
    return (int) text.substring(0, offset).chars().filter(c -> c == '\n').count() + 1;
  }

  /** The checkout's files and folders, without those whose name starts with a dot. */
  private List<String> walk() {
    List<String> out = new ArrayList<>();
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) {
          if (dir.equals(root)) {
            return FileVisitResult.CONTINUE;
          }
          return add(dir) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes a) {
          add(file);
          return FileVisitResult.CONTINUE;
        }

        private boolean add(Path p) {
          boolean visible = !p.getFileName().toString().startsWith(".");
          if (visible) {
            out.add(root.relativize(p).toString().replace('\\', '/'));
          }
          return visible;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.sort(null);
    return out;
  }
}
