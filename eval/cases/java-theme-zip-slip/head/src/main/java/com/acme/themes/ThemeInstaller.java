package com.acme.themes;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class ThemeInstaller {
    private static final Pattern THEME_NAME = Pattern.compile("[a-z0-9-]{1,40}");

    private final Path themesDir;

    public ThemeInstaller(Path themesDir) {
        this.themesDir = themesDir;
    }

    public Path install(String themeName, InputStream zip) throws IOException {
        if (!THEME_NAME.matcher(themeName).matches()) {
            throw new IllegalArgumentException("theme name must be 1-40 of a-z, 0-9 and '-'");
        }
        Path target = themesDir.resolve(themeName);
        Files.createDirectories(target);
        try (ZipInputStream in = new ZipInputStream(zip)) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                Path out = target.resolve(entry.getName());
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return target;
    }
}
