package dev.keepalive.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Dumps the public API of one package by reflection and compares it with a committed file: every
 * public type and its public and protected members, sorted, one per line (the way OkHttp keeps
 * {@code okhttp.api}). Each published module's {@code ApiDumpTest} calls {@link #check}.
 * Hand-written: the tools that compare APIs (japicmp, revapi) compare two released jars, and this
 * project has no released jar yet to compare with.
 */
public final class ApiDump {
  static final String UPDATE_PROPERTY = "keepalive.api.update";
  static final String UPDATE_COMMAND =
      "./mvnw -B test -pl core,http -Dtest=ApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false"
          + " -Dkeepalive.api.update=true";

  private ApiDump() {}

  public static void check(String pkg, String file, Class<?> anchor) throws Exception {
    Path path = Path.of(System.getProperty("basedir", "")).resolve(file).toAbsolutePath();
    String actual = dump(pkg, anchor);
    if (Boolean.getBoolean(UPDATE_PROPERTY)) {
      Files.createDirectories(path.getParent());
      Files.writeString(path, actual, StandardCharsets.UTF_8);
      System.out.println("API dump written: " + path);
      return;
    }
    if (!Files.exists(path)) {
      fail("No API dump at " + path + ". Create it with:\n  " + UPDATE_COMMAND);
    }
    String expected = Files.readString(path, StandardCharsets.UTF_8);
    if (!expected.equals(actual)) {
      fail("The public API of package "
          + pkg
          + " differs from "
          + file
          + " (- in the dump only, + in the code only):\n"
          + diff(lines(expected), lines(actual))
          + "\nIf the change is deliberate, regenerate the dump and commit it:\n  "
          + UPDATE_COMMAND
          + "\n");
    }
  }

  /** The API of {@code pkg}: one block per accessible type, sorted; members sorted inside. */
  static String dump(String pkg, Class<?> anchor) throws IOException, URISyntaxException {
    TreeMap<String, List<String>> types = new TreeMap<>();
    for (Class<?> c : classesOf(pkg, anchor)) {
      if (!accessible(c)) {
        continue;
      }
      TreeSet<String> members = new TreeSet<>();
      for (Field f : c.getDeclaredFields()) {
        if (visible(f) && !f.isSynthetic()) {
          members.add(modifiers(f.getModifiers())
              + type(f.getGenericType())
              + " "
              + f.getName()
              + constantValue(f));
        }
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (visible(k) && !k.isSynthetic()) {
          members.add(executable(k, c.getName()));
        }
      }
      // public methods of non-public superclasses are part of this type's API
      for (Class<?> s = c;
          s != null && (s == c || !Modifier.isPublic(s.getModifiers()));
          s = s.getSuperclass()) {
        for (Method m : s.getDeclaredMethods()) {
          if (visible(m) && !m.isSynthetic() && !m.isBridge()) {
            String generics = typeParameters(m.getTypeParameters());
            members.add(executable(
                m,
                (m.isDefault() ? "default " : "")
                    + (generics.isEmpty() ? "" : generics + " ")
                    + type(m.getGenericReturnType())
                    + " "
                    + m.getName()));
          }
        }
      }
      types.put(c.getName(), new ArrayList<>(members));
      types.get(c.getName()).add(0, header(c));
    }
    StringBuilder out = new StringBuilder();
    for (List<String> block : types.values()) {
      out.append(block.get(0)).append(" {\n");
      for (String member : block.subList(1, block.size())) {
        out.append("  ").append(member).append('\n');
      }
      out.append("}\n\n");
    }
    return out.toString();
  }

  private static List<Class<?>> classesOf(String pkg, Class<?> anchor)
      throws IOException, URISyntaxException {
    Path location =
        Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    String dir = pkg.replace('.', '/') + "/";
    List<String> names;
    if (Files.isDirectory(location)) {
      try (Stream<Path> files = Files.list(location.resolve(dir))) {
        names = files.map(p -> dir + p.getFileName()).collect(Collectors.toList());
      }
    } else {
      try (JarFile jar = new JarFile(location.toFile())) {
        names = jar.stream()
            .map(e -> e.getName())
            .filter(n -> n.startsWith(dir) && n.indexOf('/', dir.length()) < 0)
            .collect(Collectors.toList());
      }
    }
    List<Class<?>> classes = new ArrayList<>();
    for (String name : names) {
      if (!name.endsWith(".class") || name.endsWith("package-info.class")) {
        continue;
      }
      String className = name.substring(0, name.length() - ".class".length()).replace('/', '.');
      try {
        classes.add(Class.forName(className, false, anchor.getClassLoader()));
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
    }
    return classes;
  }

  /** Public, or protected inside a public type, all the way out; no local or anonymous class. */
  private static boolean accessible(Class<?> c) {
    if (c.isSynthetic() || c.isAnonymousClass() || c.isLocalClass()) {
      return false;
    }
    for (Class<?> t = c; t != null; t = t.getDeclaringClass()) {
      int m = t.getModifiers();
      boolean nested = t.getDeclaringClass() != null;
      if (!(Modifier.isPublic(m) || (nested && Modifier.isProtected(m)))) {
        return false;
      }
    }
    return true;
  }

  private static boolean visible(Member m) {
    return (m.getModifiers() & (Modifier.PUBLIC | Modifier.PROTECTED)) != 0;
  }

  private static String header(Class<?> c) {
    int mods = c.getModifiers();
    String kind;
    if (c.isAnnotation()) {
      kind = "@interface";
      mods &= ~(Modifier.ABSTRACT | Modifier.INTERFACE);
    } else if (c.isInterface()) {
      kind = "interface";
      mods &= ~(Modifier.ABSTRACT | Modifier.INTERFACE);
    } else if (c.isEnum()) {
      kind = "enum";
      mods &= ~(Modifier.ABSTRACT | Modifier.FINAL);
    } else if (c.isRecord()) {
      kind = "record";
      mods &= ~Modifier.FINAL;
    } else {
      kind = "class";
    }
    StringBuilder h = new StringBuilder();
    if (c.isAnnotationPresent(Deprecated.class)) {
      h.append("@Deprecated ");
    }
    h.append(modifiers(mods));
    if (c.isSealed()) {
      h.append("sealed ");
    }
    h.append(kind).append(' ').append(c.getName()).append(typeParameters(c.getTypeParameters()));
    Type sup = c.getGenericSuperclass();
    if (sup != null
        && sup != Object.class
        && !(c.isEnum() && rawName(sup).equals("java.lang.Enum"))
        && !(c.isRecord() && sup == Record.class)) {
      h.append(" extends ").append(type(sup));
    }
    Type[] interfaces = c.getGenericInterfaces();
    if (interfaces.length > 0) {
      h.append(c.isInterface() ? " extends " : " implements ");
      h.append(Arrays.stream(interfaces).map(ApiDump::type).collect(Collectors.joining(", ")));
    }
    if (c.isSealed()) {
      h.append(" permits ")
          .append(Arrays.stream(c.getPermittedSubclasses())
              .map(Class::getName)
              .sorted()
              .collect(Collectors.joining(", ")));
    }
    return h.toString();
  }

  private static String executable(Executable e, String nameAndReturn) {
    StringBuilder s = new StringBuilder();
    if (e.isAnnotationPresent(Deprecated.class)) {
      s.append("@Deprecated ");
    }
    int mods = e.getModifiers();
    if (e.getDeclaringClass().isInterface()) {
      mods &= ~Modifier.ABSTRACT; // an interface's non-default, non-static methods
    }
    s.append(modifiers(mods));
    if (e instanceof Constructor) {
      String generics = typeParameters(e.getTypeParameters());
      s.append(generics.isEmpty() ? "" : generics + " ");
    }
    s.append(nameAndReturn).append('(');
    Type[] params = e.getGenericParameterTypes();
    // inner-class constructors and the like: fall back to the erased list when they disagree
    if (params.length != e.getParameterCount()) {
      params = e.getParameterTypes();
    }
    for (int i = 0; i < params.length; i++) {
      if (i > 0) {
        s.append(", ");
      }
      if (e.isVarArgs() && i == params.length - 1) {
        s.append(type(componentOf(params[i]))).append("...");
      } else {
        s.append(type(params[i]));
      }
    }
    s.append(')');
    Type[] thrown = e.getGenericExceptionTypes();
    if (thrown.length > 0) {
      s.append(" throws ")
          .append(
              Arrays.stream(thrown).map(ApiDump::type).sorted().collect(Collectors.joining(", ")));
    }
    return s.toString();
  }

  /** A compile-time constant's value: callers compile it in, so changing it changes the API. */
  private static String constantValue(Field f) {
    int mods = f.getModifiers();
    boolean constantType = f.getType().isPrimitive() || f.getType() == String.class;
    if (!Modifier.isStatic(mods) || !Modifier.isFinal(mods) || !constantType) {
      return "";
    }
    try {
      Object value = f.get(null);
      return value instanceof String ? " = \"" + value + "\"" : " = " + value;
    } catch (IllegalAccessException e) {
      return "";
    }
  }

  private static Type componentOf(Type array) {
    if (array instanceof GenericArrayType) {
      return ((GenericArrayType) array).getGenericComponentType();
    }
    return ((Class<?>) array).getComponentType();
  }

  private static String modifiers(int mods) {
    String s = Modifier.toString(mods
        & (Modifier.PUBLIC
            | Modifier.PROTECTED
            | Modifier.STATIC
            | Modifier.FINAL
            | Modifier.ABSTRACT));
    return s.isEmpty() ? "" : s + " ";
  }

  private static String typeParameters(TypeVariable<?>[] vars) {
    if (vars.length == 0) {
      return "";
    }
    List<String> out = new ArrayList<>();
    for (TypeVariable<?> v : vars) {
      List<String> bounds = Arrays.stream(v.getBounds())
          .filter(b -> b != Object.class)
          .map(ApiDump::type)
          .collect(Collectors.toList());
      out.add(
          bounds.isEmpty() ? v.getName() : v.getName() + " extends " + String.join(" & ", bounds));
    }
    return "<" + String.join(", ", out) + ">";
  }

  private static String type(Type t) {
    return t.getTypeName();
  }

  private static String rawName(Type t) {
    String n = t.getTypeName();
    int lt = n.indexOf('<');
    return lt < 0 ? n : n.substring(0, lt);
  }

  private static List<String> lines(String s) {
    return s.isEmpty() ? List.of() : Arrays.asList(s.split("\n", -1));
  }

  /** A line diff (longest common subsequence): changed lines with the type they belong to. */
  static String diff(List<String> expected, List<String> actual) {
    int n = expected.size();
    int m = actual.size();
    int[][] lcs = new int[n + 1][m + 1];
    for (int i = n - 1; i >= 0; i--) {
      for (int j = m - 1; j >= 0; j--) {
        lcs[i][j] = Objects.equals(expected.get(i), actual.get(j))
            ? lcs[i + 1][j + 1] + 1
            : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    StringBuilder out = new StringBuilder();
    String type = null;
    String shownType = null;
    int i = 0;
    int j = 0;
    while (i < n || j < m) {
      String line;
      char mark;
      if (i < n && j < m && expected.get(i).equals(actual.get(j))) {
        line = expected.get(i);
        mark = ' ';
        i++;
        j++;
      } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
        line = actual.get(j++);
        mark = '+';
      } else {
        line = expected.get(i++);
        mark = '-';
      }
      if (line.endsWith(" {")) {
        type = line;
      }
      if (mark != ' ') {
        if (type != null && !type.equals(shownType) && !line.equals(type)) {
          out.append("  in ").append(type).append('\n');
        }
        shownType = type;
        out.append(mark).append(' ').append(line).append('\n');
      }
    }
    return out.toString();
  }
}
