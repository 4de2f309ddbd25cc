package com.acme.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

public class XmlFeedImporter implements FeedImporter {
    @Override
    public List<ProductUpdate> parse(InputStream in) throws IOException {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            DocumentBuilder builder = factory.newDocumentBuilder();
            Document doc = builder.parse(in);
            NodeList items = doc.getElementsByTagName("product");
            List<ProductUpdate> out = new ArrayList<>(items.getLength());
            for (int i = 0; i < items.getLength(); i++) {
                Element p = (Element) items.item(i);
                String sku = p.getAttribute("sku");
                String name = p.getElementsByTagName("name").item(0).getTextContent();
                long priceCents = Long.parseLong(p.getElementsByTagName("price").item(0).getTextContent());
                out.add(new ProductUpdate(sku, name.trim(), priceCents));
            }
            return out;
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("invalid XML feed: " + e.getMessage(), e);
        }
    }
}
