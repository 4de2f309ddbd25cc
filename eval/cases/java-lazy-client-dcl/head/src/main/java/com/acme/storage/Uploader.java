package com.acme.storage;

import java.io.IOException;
import java.io.InputStream;

public class Uploader {
    private final StorageConfig config;
    private ObjectStoreClient client;

    public Uploader(StorageConfig config) {
        this.config = config;
    }

    private ObjectStoreClient client() {
        if (client == null) {
            synchronized (this) {
                if (client == null) {
                    try {
                        client = ObjectStoreClient.connect(config);
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }
            }
        }
        return client;
    }

    public String upload(String key, InputStream data, long size) throws IOException {
        return client().put(config.bucket(), key, data, size);
    }
}
