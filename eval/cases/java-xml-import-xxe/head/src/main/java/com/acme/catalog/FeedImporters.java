package com.acme.catalog;

import java.util.Map;

public final class FeedImporters {
    private static final Map<String, FeedImporter> BY_TYPE = Map.of(
            "text/csv", new CsvFeedImporter(),
            "application/xml", new XmlFeedImporter());

    private FeedImporters() {}

    public static FeedImporter forContentType(String contentType) {
        FeedImporter importer = BY_TYPE.get(contentType);
        if (importer == null) {
            throw new IllegalArgumentException("unsupported feed type " + contentType + "; use text/csv or application/xml");
        }
        return importer;
    }
}
