package com.acme.shipping;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

@Component
public class TrackingPoller {
    private static final Logger log = LoggerFactory.getLogger(TrackingPoller.class);

    private final ShipmentRepository shipments;
    private final CarrierClient carrier;
    private final Notifier notifier;

    public TrackingPoller(ShipmentRepository shipments, CarrierClient carrier, Notifier notifier) {
        this.shipments = shipments;
        this.carrier = carrier;
        this.notifier = notifier;
    }

    @Scheduled(fixedDelayString = "${tracking.poll-ms:300000}")
    public void poll() {
        List<Shipment> open = shipments.findOpen();
        for (Shipment s : open) {
            CarrierStatus status = carrier.track(s.getTrackingNumber());
            Integer previous = s.getStatusCode();
            Integer current = status.code();
            if (previous != current) {
                s.setStatusCode(current);
                notifier.statusChanged(s);
            }
            if (status.name() == "DELIVERED") {
                s.setClosed(true);
                log.info("shipment {} delivered", s.getId());
            }
            shipments.save(s);
        }
    }
}
