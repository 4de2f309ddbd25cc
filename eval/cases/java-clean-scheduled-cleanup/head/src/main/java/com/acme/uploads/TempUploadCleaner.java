package com.acme.uploads;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

@Component
public class TempUploadCleaner {
    private static final Logger log = LoggerFactory.getLogger(TempUploadCleaner.class);
    static final int BATCH_SIZE = 500;
    static final Duration MAX_AGE = Duration.ofHours(24);

    private final TempUploadRepository uploads;
    private final BlobStore blobs;
    private final Clock clock;
    private final Counter deleted;
    private final Counter blobFailures;

    public TempUploadCleaner(TempUploadRepository uploads, BlobStore blobs, Clock clock, MeterRegistry meters) {
        this.uploads = uploads;
        this.blobs = blobs;
        this.clock = clock;
        this.deleted = meters.counter("uploads.temp.deleted");
        this.blobFailures = meters.counter("uploads.temp.blob_delete_failures");
    }

    @Scheduled(cron = "0 */15 * * * *")
    public void clean() {
        Instant cutoff = Instant.now(clock).minus(MAX_AGE);
        int total = 0;
        List<TempUpload> batch;
        do {
            batch = uploads.findExpiredBatch(cutoff, BATCH_SIZE);
            for (TempUpload u : batch) {
                try {
                    blobs.delete(u.blobKey());
                } catch (BlobStoreException e) {
                    // The row goes anyway: the blob store's own lifecycle rule removes orphans.
                    blobFailures.increment();
                    log.warn("could not delete blob {} of upload {}", u.blobKey(), u.id(), e);
                }
            }
            if (!batch.isEmpty()) {
                uploads.deleteAllByIdInBatch(batch.stream().map(TempUpload::id).toList());
                deleted.increment(batch.size());
                total += batch.size();
            }
        } while (batch.size() == BATCH_SIZE);
        log.info("deleted {} expired temporary uploads older than {}", total, cutoff);
    }
}
